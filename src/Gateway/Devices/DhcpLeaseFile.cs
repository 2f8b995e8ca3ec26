using System.Net;
using System.Text.RegularExpressions;

namespace PortMapper.Gateway.Devices;

/// <summary>
/// Host names the router's DHCP server handed out, from its lease file: dnsmasq ("EXPIRY MAC IP NAME CLIENT-ID"),
/// ISC dhcpd ("lease IP { hardware ethernet MAC; client-hostname "NAME"; }") or odhcpd ("# IFACE DUID IAID NAME
/// TS ID LEN ADDR/LEN ...", with the MAC for DHCPv4 leases). Names are looked up by MAC first, then by address. Unreadable or foreign lines are
/// skipped: a name is a convenience, never a reason to refuse anything.
/// </summary>
public sealed partial class DhcpLeaseFile
{
    private const int MaxNameLength = 63;

    private DhcpLeaseFile(Dictionary<ulong, string> byMac, Dictionary<IPAddress, string> byAddress)
    {
        ByMac = byMac;
        ByAddress = byAddress;
    }

    public static DhcpLeaseFile Empty { get; } = new([], []);

    public IReadOnlyDictionary<ulong, string> ByMac { get; }

    public IReadOnlyDictionary<IPAddress, string> ByAddress { get; }

    public string? NameOf(DeviceId device, IEnumerable<IPAddress> addresses)
    {
        if (device.HasMac && ByMac.TryGetValue(device.Mac, out string? name))
        {
            return name;
        }

        foreach (IPAddress address in addresses)
        {
            if (ByAddress.TryGetValue(address, out name))
            {
                return name;
            }
        }

        return null;
    }

    public static DhcpLeaseFile Parse(string text)
    {
        var byMac = new Dictionary<ulong, string>();
        var byAddress = new Dictionary<IPAddress, string>();
        void Add(ulong mac, IPAddress? address, string name)
        {
            name = name.Trim().Trim('"');
            if (name.Length == 0 || name is "*" or "-" || name.Length > MaxNameLength || name.Any(c => char.IsControl(c) || c == '<' || c == '>'))
            {
                return;
            }

            if (mac != 0)
            {
                byMac[mac] = name;
            }

            if (address is not null)
            {
                byAddress[address] = name;
            }
        }

        foreach (Match lease in IscLease().Matches(text))
        {
            ulong mac = IscHardware().Match(lease.Groups["body"].Value) is { Success: true } hw && DeviceRule.TryParseMac(hw.Groups[1].Value, out ulong m) ? m : 0;
            string? name = IscHostname().Match(lease.Groups["body"].Value) is { Success: true } hn ? hn.Groups[1].Value : null;
            if (name is not null && IPAddress.TryParse(lease.Groups["ip"].Value, out IPAddress? address))
            {
                Add(mac, address, name);
            }
        }

        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 4 && long.TryParse(f[0], out _) && DeviceRule.TryParseMac(f[1], out ulong mac) && IPAddress.TryParse(f[2], out IPAddress? address))
            {
                Add(mac, address, f[3]); // dnsmasq
            }
            else if (f.Length >= 9 && f[0] == "#" && !line.Contains('{', StringComparison.Ordinal))
            {
                // odhcpd: "# iface duid iaid hostname ts id length addr/len [addr/len...]"; a DHCPv4 lease has the MAC
                // in hex where the DUID goes and "ipv4" for the IAID.
                ulong hardware = f[3] == "ipv4" && f[2].Length == 12 && ulong.TryParse(f[2], System.Globalization.NumberStyles.AllowHexSpecifier, null, out ulong hw) ? hw : 0;
                foreach (string entry in f.Skip(8))
                {
                    string addressText = entry.Split('/')[0];
                    if (IPAddress.TryParse(addressText, out IPAddress? leased))
                    {
                        Add(hardware, leased, f[4]);
                    }
                }
            }
        }

        return new DhcpLeaseFile(byMac, byAddress);
    }

    [GeneratedRegex(@"lease\s+(?<ip>[0-9a-fA-F.:]+)\s*\{(?<body>[^}]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex IscLease();

    [GeneratedRegex(@"hardware\s+ethernet\s+([0-9a-fA-F:]+)\s*;", RegexOptions.CultureInvariant)]
    private static partial Regex IscHardware();

    [GeneratedRegex(@"client-hostname\s+""([^""]*)""\s*;", RegexOptions.CultureInvariant)]
    private static partial Regex IscHostname();
}
