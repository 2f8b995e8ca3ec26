using System.Net;
using System.Net.Sockets;

namespace PortMapper.Gateway.Network;

public sealed record LanInterface(string Name, IReadOnlyList<InterfaceAddress> Addresses, int Index = 0)
{
    public IEnumerable<InterfaceAddress> IPv4 => Addresses.Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork);

    /// <summary>Global IPv6 addresses (not link-local), whose prefixes pinholes may open to.</summary>
    public IEnumerable<InterfaceAddress> GlobalIPv6 =>
        Addresses.Where(a => a.Address.AddressFamily == AddressFamily.InterNetworkV6 && !a.Address.IsIPv6LinkLocal);

    public bool HasIPv6 => Addresses.Any(a => a.Address.AddressFamily == AddressFamily.InterNetworkV6);

    /// <summary>A host on this LAN other than the gateway itself: what a PCP THIRD_PARTY request may name.</summary>
    public bool IsLanHost(IPAddress address) => IsOnLink(address) && !Addresses.Any(a => a.Address.Equals(address));

    /// <summary>Whether a source address is on one of this interface's subnets (a directly attached LAN host).</summary>
    public bool IsOnLink(IPAddress source) => Addresses.Any(a => a.Subnet.Contains(source));
}
