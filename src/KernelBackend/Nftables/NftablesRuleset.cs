using System.Globalization;
using System.Net;
using System.Text;

namespace PortMapper.KernelBackend.Nftables;

/// <summary>
/// The nftables text the backend sends. Mappings are elements of timeout maps and sets, so a lookup costs the
/// same with one mapping or ten thousand, and the kernel drops an element on time even if the daemon is gone.
/// </summary>
public static class NftablesRuleset
{
    /// <summary>The rule a host firewall's forward chain needs in <see cref="FirewallMode.Integrate"/> mode.</summary>
    public const string IntegrateSnippet = "ct status dnat accept";

    public const string ExternalAddressSet = "ext4";
    public const string NatMap = "nat4";
    public const string ForwardSet = "fwd4";

    /// <summary>
    /// A one-element set whose only job is to be looked at: listing it costs the same with 10 or 10,000
    /// mappings (listing a chain makes libnftables fetch every element of every set, ~150 ms at 15,000).
    /// It disappears with the table and is emptied by a flush of the table.
    /// </summary>
    public const string SentinelSet = "intact";

    /// <summary>
    /// Replaces the table in one transaction: "add table" makes the delete safe when the table is absent, so
    /// forwarding never sees a moment without the daemon's entries.
    /// </summary>
    public static string Build(FirewallOptions options, IPAddress? externalAddress, IEnumerable<PortMapping> mappings, IEnumerable<ForwardEntry> forwards)
    {
        string table = options.TableName;
        var text = new StringBuilder(4096);
        text.Append(CultureInfo.InvariantCulture, $"add table inet {table}\ndelete table inet {table}\n");
        text.Append(CultureInfo.InvariantCulture, $$"""
            table inet {{table}} {
              set {{SentinelSet}} { type ipv4_addr; elements = { 127.0.0.1 }; }
              set {{ExternalAddressSet}} { type ipv4_addr; }
              map {{NatMap}} { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }
              set {{ForwardSet}} { type ipv4_addr . inet_proto . inet_service; flags timeout; }
              chain prerouting {
                type nat hook prerouting priority dstnat; policy accept;
                iifname {{Quote(options.WanInterface)}} ip daddr @{{ExternalAddressSet}} meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @{{NatMap}}
              }

            """);
        if (options.Mode == FirewallMode.Standalone)
        {
            text.Append(CultureInfo.InvariantCulture, $$"""
                  chain forward {
                    type filter hook forward priority filter; policy accept;
                    iifname {{Quote(options.WanInterface)}} jump wan_in
                  }
                  chain wan_in {
                    ct state established,related accept
                    ct status dnat ip daddr . meta l4proto . th dport @{{ForwardSet}} accept
                    drop
                  }

                """);
        }

        text.Append("}\n");
        if (externalAddress is not null)
        {
            AppendSetExternalAddress(text, table, externalAddress, flush: false);
        }

        foreach (PortMapping mapping in mappings)
        {
            AppendAddNat(text, table, mapping);
        }

        foreach (ForwardEntry forward in forwards)
        {
            AppendAddForward(text, table, forward);
        }

        return text.ToString();
    }

    /// <summary>A cheap command whose output shows whether the table is still there and unflushed.</summary>
    public static string Probe(string table) => $"list set inet {table} {SentinelSet}";

    public static void AppendSetExternalAddress(StringBuilder text, string table, IPAddress? externalAddress, bool flush = true)
    {
        if (flush)
        {
            text.Append(CultureInfo.InvariantCulture, $"flush set inet {table} {ExternalAddressSet}\n");
        }

        if (externalAddress is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {ExternalAddressSet} {{ {externalAddress} }}\n");
        }
    }

    public static void AppendAddNat(StringBuilder text, string table, PortMapping m)
    {
        text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {NatMap} {{ {Name(m.Protocol)} . {m.ExternalPort}");
        AppendTimeout(text, m.Timeout);
        text.Append(CultureInfo.InvariantCulture, $" : {m.InternalAddress} . {m.InternalPort} }}\n");
    }

    public static void AppendDeleteNat(StringBuilder text, string table, TransportProtocol protocol, ushort externalPort) =>
        text.Append(CultureInfo.InvariantCulture, $"delete element inet {table} {NatMap} {{ {Name(protocol)} . {externalPort} }}\n");

    public static void AppendAddForward(StringBuilder text, string table, ForwardEntry f)
    {
        text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {ForwardSet} {{ {f.Key.InternalAddress} . {Name(f.Key.Protocol)} . {f.Key.InternalPort}");
        AppendTimeout(text, f.Timeout);
        text.Append(" }\n");
    }

    public static void AppendDeleteForward(StringBuilder text, string table, ForwardKey key) =>
        text.Append(CultureInfo.InvariantCulture, $"delete element inet {table} {ForwardSet} {{ {key.InternalAddress} . {Name(key.Protocol)} . {key.InternalPort} }}\n");

    private static void AppendTimeout(StringBuilder text, TimeSpan? timeout)
    {
        if (timeout is { } t)
        {
            long ms = Math.Max(1, (long)Math.Ceiling(t.TotalMilliseconds));
            text.Append(CultureInfo.InvariantCulture, $" timeout {ms}ms");
        }
    }

    private static string Name(TransportProtocol protocol) => protocol == TransportProtocol.Tcp ? "tcp" : "udp";

    /// <summary>Interface names are validated at start (no quotes possible); quoting keeps names like "eth0.2" one token.</summary>
    private static string Quote(string interfaceName) => $"\"{interfaceName}\"";
}
