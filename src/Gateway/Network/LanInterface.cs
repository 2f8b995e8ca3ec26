using System.Net;
using System.Net.Sockets;

namespace PortMapper.Gateway.Network;

public sealed record LanInterface(string Name, IReadOnlyList<InterfaceAddress> Addresses)
{
    public IEnumerable<InterfaceAddress> IPv4 => Addresses.Where(a => a.Address.AddressFamily == AddressFamily.InterNetwork);

    /// <summary>Whether a source address is on one of this interface's subnets (a directly attached LAN host).</summary>
    public bool IsOnLink(IPAddress source) => Addresses.Any(a => a.Subnet.Contains(source));
}
