using System.Globalization;
using System.Net;
using PortMapper.Gateway.Leases;

namespace PortMapper.Gateway.Import;

/// <summary>miniupnpd.conf keys and permission rules.</summary>
public sealed partial class MiniupnpdImport
{
    /// <summary>Keys that only make sense to miniupnpd (its chains, its own table, its presentation strings).</summary>
    private static readonly Dictionary<string, string> s_notApplicable = new(StringComparer.Ordinal)
    {
        ["ext_ifname6"] = "the IPv6 WAN is the WAN interface's own addresses here",
        ["upnp_table_name"] = "the daemon owns its own nftables table (firewall.table)",
        ["upnp_nat_table_name"] = "the daemon owns its own nftables table (firewall.table)",
        ["upnp_forward_chain"] = "the daemon's chains are its own",
        ["upnp_nat_chain"] = "the daemon's chains are its own",
        ["upnp_nat_postrouting_chain"] = "the daemon's chains are its own",
        ["upnp_nftables_family_split"] = "the daemon uses one inet table",
        ["clean_ruleset_threshold"] = "the kernel expires entries by itself",
        ["clean_ruleset_interval"] = "the kernel expires entries by itself",
        ["uuid"] = "device UUIDs are kept in the state directory (upnp.uuid)",
        ["serial"] = "not configurable",
        ["model_number"] = "not configurable",
        ["presentation_url"] = "the admin page is served by the admin endpoint",
        ["bitrate_up"] = "link speeds are read from the WAN interface",
        ["bitrate_down"] = "link speeds are read from the WAN interface",
        ["system_uptime"] = "uptime is the connection's (epoch) uptime",
        ["packet_log"] = "logging is configured with logLevel",
        ["https_port"] = "UPnP over HTTPS is not offered",
        ["force_igd_desc_v1"] = "IGD:1 and IGD:2 are always served side by side",
        ["ext_perform_stun"] = "STUN is not done; a reserved WAN address is reported instead",
        ["ext_stun_host"] = "STUN is not done",
        ["ext_stun_port"] = "STUN is not done",
        ["ext_allow_private_ipv4"] = "a private WAN address is always served (and reported)",
        ["ipv6_disable"] = "IPv6 follows the LAN's addresses",
        ["min_lifetime"] = "only the longest lease (maxLifetime) is configurable",
        ["pcp_allow_thirdparty"] = "see pcp.allowThirdParty (converted when 'yes')",
    };

    private void ReadSetting(string key, string value, int number, Func<IPAddress, string?> addressOwner)
    {
        switch (key)
        {
            case "ext_ifname":
                Set("wan", value, key);
                break;
            case "listening_ip":
                ReadListeningIp(value, number, addressOwner);
                break;
            case "port" or "http_port":
                if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is > 0 and <= 65535)
                {
                    Set("upnp.httpPort", port, key);
                }
                else
                {
                    _notConverted.Add($"line {number}: {key}={value}: a random port (0) is not offered; upnp.httpPort stays 5000");
                }

                break;
            case "enable_upnp":
                Set("upnp.enabled", Yes(value), key);
                break;
            case "enable_natpmp" or "enable_pcp_pmp":
                Set("natPmp.enabled", Yes(value), key);
                Set("pcp.enabled", Yes(value), key);
                break;
            case "secure_mode":
                Set("secureMode", Yes(value), key);
                break;
            case "pcp_allow_thirdparty" when Yes(value):
                Set("pcp.allowThirdParty", true, key);
                break;
            case "max_lifetime":
                if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int life) && life >= 60)
                {
                    Set("maxLifetime", life, key);
                }
                else
                {
                    _notConverted.Add($"line {number}: {key}={value}: not a lifetime of 60 s or more");
                }

                break;
            case "notify_interval":
                if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int every))
                {
                    Set("upnp.notifyInterval", Math.Clamp(every, 30, 86400), key);
                }

                break;
            case "friendly_name":
                Set("upnp.friendlyName", value.Trim('"'), key);
                break;
            case "lease_file":
                LeaseFile = value;
                _converted.Add($"lease_file: {value} (its leases, when imported)");
                break;
            default:
                _notConverted.Add(s_notApplicable.TryGetValue(key, out string? why)
                    ? $"line {number}: {key}: {why}"
                    : $"line {number}: {key}: no equivalent");
                break;
        }
    }

    /// <summary>listening_ip: an interface name, or an address (with an optional /prefix) whose interface is looked up.</summary>
    private void ReadListeningIp(string value, int number, Func<IPAddress, string?> addressOwner)
    {
        string name = value.Split('/')[0];
        if (IPAddress.TryParse(name, out IPAddress? address))
        {
            if (addressOwner(address) is { } owner)
            {
                _lan.Add(owner);
                _converted.Add($"listening_ip={value} -> lan {owner}");
            }
            else
            {
                _notConverted.Add($"line {number}: listening_ip={value}: no interface here has {address}; give the LAN interface with 'lan'");
            }
        }
        else
        {
            _lan.Add(name);
            _converted.Add($"listening_ip={value} -> lan {name}");
        }
    }

    /// <summary>"allow|deny EXTPORTS ADDRESS/MASK INTPORTS [regex]", the mask as a length or dotted.</summary>
    private void ReadRule(string line, int number)
    {
        string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 4 || !PortRange.TryParse(Ports(f[1]), out PortRange external, out _) || !PortRange.TryParse(Ports(f[3]), out PortRange internalPorts, out _)
            || !TryNetwork(f[2], out IPNetwork network))
        {
            _notConverted.Add($"line {number}: rule '{line}' is not understood");
            return;
        }

        if (f.Length > 4)
        {
            _notConverted.Add($"line {number}: the description pattern '{string.Join(' ', f[4..])}' of a rule has no equivalent; the rule is converted without it");
        }

        _rules.Add(new PolicyRule(f[0] == "allow", external, network, internalPorts));
        _converted.Add($"line {number}: {f[0]} rule");
    }

    /// <summary>miniupnpd writes "0-65535" for every port; port 0 is no port here.</summary>
    private static string Ports(string range) => range.StartsWith("0-", StringComparison.Ordinal) ? "1-" + range[2..] : range;

    private static bool TryNetwork(string text, out IPNetwork network)
    {
        network = default;
        string[] parts = text.Split('/');
        if (!IPAddress.TryParse(parts[0], out IPAddress? address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return false;
        }

        int length = 32;
        if (parts.Length == 2)
        {
            if (IPAddress.TryParse(parts[1], out IPAddress? mask) && parts[1].Contains('.', StringComparison.Ordinal))
            {
                uint bits = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(mask.GetAddressBytes());
                length = System.Numerics.BitOperations.PopCount(bits);
                if (bits != (length == 0 ? 0 : uint.MaxValue << (32 - length)))
                {
                    return false;
                }
            }
            else if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > 32)
            {
                return false;
            }
        }

        // miniupnpd accepts host bits and ignores them: keep the network.
        uint value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
        uint masked = length == 0 ? 0 : value & (uint.MaxValue << (32 - length));
        byte[] bytes = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, masked);
        network = new IPNetwork(new IPAddress(bytes), length);
        return true;
    }

    private void Set(string key, object value, string from)
    {
        _settings[key] = value;
        _converted.Add($"{from} -> {key}");
    }

    private static bool Yes(string value) => value.Equals("yes", StringComparison.OrdinalIgnoreCase) || value == "1";
}
