using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace PortMapper.Gateway.Network;

public sealed class SystemNetworkInventory : INetworkInventory
{
    public IReadOnlyList<NetworkInterfaceInfo> Interfaces()
    {
        var result = new List<NetworkInterfaceInfo>();
        foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            IPInterfaceProperties properties = nic.GetIPProperties();
            var addresses = properties.UnicastAddresses
                .Where(a => a.Address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                .Select(a => new InterfaceAddress(a.Address, a.PrefixLength))
                .ToList();
            int index = nic.Supports(NetworkInterfaceComponent.IPv4) ? properties.GetIPv4Properties().Index
                : nic.Supports(NetworkInterfaceComponent.IPv6) ? properties.GetIPv6Properties().Index : -1;
            result.Add(new NetworkInterfaceInfo(
                nic.Name,
                index,
                nic.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown,
                nic.NetworkInterfaceType == NetworkInterfaceType.Loopback,
                addresses));
        }

        return result;
    }

    /// <summary>From rtnetlink: the WAN monitor reads it on every address event, and the whole inventory reads a dozen files per interface.</summary>
    public IReadOnlyList<IPAddress> IPv4Addresses(string name) => KernelBackend.Netlink.AddressTable.IPv4Addresses(name);

    /// <summary>Reads /proc/net/route: the row with destination 0 and mask 0, lowest metric first.</summary>
    public string? DefaultRouteInterface()
    {
        try
        {
            return File.ReadLines("/proc/net/route")
                .Skip(1)
                .Select(line => line.Split('\t', StringSplitOptions.TrimEntries))
                .Where(f => f.Length >= 8 && f[1] == "00000000" && f[7] == "00000000")
                .OrderBy(f => int.TryParse(f[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out int metric) ? metric : int.MaxValue)
                .Select(f => f[0])
                .FirstOrDefault();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
