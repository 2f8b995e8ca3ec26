using System.Net;

namespace PortMapper.Gateway.Network;

/// <summary>Names the special-purpose IPv4 block an address belongs to, if any (RFC 6890 and friends).</summary>
public static class AddressClassifier
{
    private static readonly (IPNetwork Network, string Name)[] s_reserved =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "this network"),
        (IPNetwork.Parse("10.0.0.0/8"), "private"),
        (IPNetwork.Parse("100.64.0.0/10"), "shared address space (carrier-grade NAT)"),
        (IPNetwork.Parse("127.0.0.0/8"), "loopback"),
        (IPNetwork.Parse("169.254.0.0/16"), "link local"),
        (IPNetwork.Parse("172.16.0.0/12"), "private"),
        (IPNetwork.Parse("192.0.0.0/24"), "IETF protocol assignments"),
        (IPNetwork.Parse("192.0.2.0/24"), "documentation (TEST-NET-1)"),
        (IPNetwork.Parse("192.168.0.0/16"), "private"),
        (IPNetwork.Parse("198.18.0.0/15"), "benchmarking"),
        (IPNetwork.Parse("198.51.100.0/24"), "documentation (TEST-NET-2)"),
        (IPNetwork.Parse("203.0.113.0/24"), "documentation (TEST-NET-3)"),
        (IPNetwork.Parse("240.0.0.0/4"), "reserved"),
    ];

    /// <summary>The kind of private or reserved block, or null for a public address.</summary>
    public static string? ReservedKind(IPAddress address)
    {
        foreach (var (network, name) in s_reserved)
        {
            if (network.Contains(address))
            {
                return name;
            }
        }

        return null;
    }
}
