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
    public const string ExternalAddressSet = "ext4";
    public const string NatMap = "nat4";
    public const string PeerMap = "peer4";

    /// <summary>Port preservation: internal endpoint → external address and port, for outbound traffic of mapped hosts.</summary>
    public const string OutboundMap = "out4";

    /// <summary>Forward accepts: unfiltered IPv4 mappings, filtered ones (per remote prefix), IPv6 pinholes likewise.</summary>
    public const string ForwardSet = "fwd4";
    public const string FilteredForwardSet = "filt4";
    public const string PinholeSet = "pin6";
    public const string FilteredPinholeSet = "filt6";

    /// <summary>Endpoints of filtered mappings: new flows to them that no filter admitted are dropped, in either mode.</summary>
    public const string FilteredEndpoints4 = "only4";
    public const string FilteredEndpoints6 = "only6";

    /// <summary>RTSP media: server . port → client . port (DNAT), server . client . port (forward), and IPv6's forward set.</summary>
    public const string MediaMap = "media4";
    public const string MediaForwardSet = "mediafwd4";
    public const string MediaSet6 = "media6";

    /// <summary>
    /// Open NAT: the devices' MACs; the addresses they send from (address → the MAC it was learned from, all-zero for
    /// an address given in the configuration); external port → internal endpoint (inbound, any remote); internal
    /// endpoint → external address and port (every flow from the endpoint leaves with the same port).
    /// </summary>
    public const string OpenNatMacSet = "onatmac";
    public const string OpenNatHostMap = "onat4";
    public const string OpenNatMap = "eim4";
    public const string OpenNatOutMap = "eimout4";

    /// <summary>
    /// A one-element set whose only job is to be looked at: listing it costs the same with 10 or 10,000
    /// mappings (listing a chain makes libnftables fetch every element of every set, ~150 ms at 15,000).
    /// It disappears with the table and is emptied by a flush of the table.
    /// </summary>
    public const string SentinelSet = "intact";

    /// <summary>The rule a host firewall's forward chain needs in <see cref="FirewallMode.Integrate"/> mode.</summary>
    public static string IntegrateSnippet(uint mark) => string.Create(CultureInfo.InvariantCulture, $"meta mark & 0x{mark:x8} == 0x{mark:x8} accept");

    /// <summary>
    /// Replaces the table in one transaction: "add table" makes the delete safe when the table is absent, so
    /// forwarding never sees a moment without the daemon's entries.
    /// </summary>
    public static string Build(
        FirewallOptions options,
        IPAddress? externalAddress,
        IEnumerable<PortMapping> mappings,
        IEnumerable<ForwardEntry> forwards,
        IEnumerable<(string Key, string Value, TimeSpan? Timeout)>? outbound = null,
        IEnumerable<(MediaOpening Opening, TimeSpan Timeout)>? media = null)
    {
        string table = options.TableName;
        string wan = $"\"{options.WanInterface}\"";

        // Hairpin: a LAN host that connects to the external address and a mapped port is sent to the mapped host,
        // and its source becomes the gateway's LAN address, so that the answer comes back through the gateway.
        string lans = options.LanInterfaces.Count == 0 ? string.Empty : "{ " + string.Join(", ", options.LanInterfaces.Select(l => $"\"{l}\"")) + " }";
        bool hairpin = options.Hairpin && lans.Length > 0;
        string hairpinIn = hairpin
            ? $"    iifname {lans} ip daddr @{ExternalAddressSet} meta l4proto {{ tcp, udp }} dnat ip to meta l4proto . th dport map @{NatMap}\n"
            : string.Empty;
        string hairpinOut = hairpin ? $"    iifname {lans} oifname {lans} ct status dnat masquerade\n" : string.Empty;

        string helpers = Helpers(options, lans, wan);
        bool observe = options.ObservesRtsp;
        string mark = string.Create(CultureInfo.InvariantCulture, $"0x{options.Mark:x8}");

        // Port preservation: after PEER mappings (more specific), a mapped host's outbound traffic takes its mapping's external port.
        string preserve = options.PreservePorts
            ? $"    oifname {wan} meta l4proto {{ tcp, udp }} snat ip to ip saddr . meta l4proto . th sport map @{OutboundMap}\n"
            : string.Empty;
        // Open NAT, after the mappings' own translations: an endpoint that has a mapping keeps its external port; one
        // whose port another Open NAT endpoint or a lease holds takes a random free one (kept from then on); else the
        // usual masquerade, which keeps the port where it is free.
        string idle = string.Create(CultureInfo.InvariantCulture, $"{options.OpenNatIdleSeconds}s");
        string openNatOut =
            $"    oifname {wan} ip saddr @{OpenNatHostMap} snat ip to ip saddr . udp sport map @{OpenNatOutMap}\n" +
            $"    oifname {wan} ip saddr @{OpenNatHostMap} udp sport @{OpenNatMap} masquerade to :1024-65535 random\n" +
            $"    oifname {wan} ip saddr @{OpenNatHostMap} meta l4proto . udp sport @{NatMap} masquerade to :1024-65535 random\n";
        string openNatLearn = lans.Length > 0
            ? $"    iifname {lans} ether saddr @{OpenNatMacSet} update @{OpenNatHostMap} {{ ip saddr timeout {idle} : ether saddr }}\n"
            : string.Empty;
        var text = new StringBuilder(4096);
        text.Append(CultureInfo.InvariantCulture, $"add table inet {table}\ndelete table inet {table}\n");
        text.Append(CultureInfo.InvariantCulture, $$"""
            table inet {{table}} {
              set {{SentinelSet}} { type ipv4_addr; elements = { 127.0.0.1 }; }
              set {{ExternalAddressSet}} { type ipv4_addr; }
              map {{NatMap}} { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }
              map {{PeerMap}} { type ipv4_addr . inet_proto . inet_service . ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; }
              map {{OutboundMap}} { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }
              set {{ForwardSet}} { type ipv4_addr . inet_proto . inet_service; flags timeout; counter; }
              set {{FilteredForwardSet}} { type ipv4_addr . inet_proto . inet_service . ipv4_addr . inet_service; flags interval, timeout; }
              set {{PinholeSet}} { type ipv6_addr . inet_proto . inet_service; flags timeout; counter; }
              set {{FilteredPinholeSet}} { type ipv6_addr . inet_proto . inet_service . ipv6_addr . inet_service; flags interval, timeout; counter; }
              set {{FilteredEndpoints4}} { type ipv4_addr . inet_proto . inet_service; flags timeout; }
              set {{FilteredEndpoints6}} { type ipv6_addr . inet_proto . inet_service; flags timeout; }
              map {{MediaMap}} { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; }
              set {{MediaForwardSet}} { type ipv4_addr . ipv4_addr . inet_service; flags timeout; }
              set {{MediaSet6}} { type ipv6_addr . ipv6_addr . inet_service; flags timeout; }
              set {{OpenNatMacSet}} { type ether_addr; }
              map {{OpenNatHostMap}} { type ipv4_addr : ether_addr; flags timeout; size 4096; }
              map {{OpenNatMap}} { type inet_service : ipv4_addr . inet_service; flags timeout; timeout {{idle}}; size {{options.OpenNatMaxMappings}}; }
              map {{OpenNatOutMap}} { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; timeout {{idle}}; size {{options.OpenNatMaxMappings}}; }
              chain prerouting {
                type nat hook prerouting priority dstnat; policy accept;
            {{(observe ? $"    iifname {wan} ip daddr @{ExternalAddressSet} meta l4proto udp dnat ip to ip saddr . udp dport map @{MediaMap}\n" : string.Empty)}}    iifname {{wan}} ip daddr @{{ExternalAddressSet}} meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @{{NatMap}}
                iifname {{wan}} ip daddr @{{ExternalAddressSet}} meta l4proto udp socket wildcard { 0, 1 } accept
                iifname {{wan}} ip daddr @{{ExternalAddressSet}} dnat ip to udp dport map @{{OpenNatMap}}
            {{hairpinIn}}  }
              chain postrouting {
                type nat hook postrouting priority srcnat - 10; policy accept;
                oifname {{wan}} meta l4proto { tcp, udp } snat ip to ip saddr . meta l4proto . th sport . ip daddr . th dport map @{{PeerMap}}
            {{preserve}}{{openNatOut}}{{hairpinOut}}  }
              chain opennat {
                type filter hook postrouting priority srcnat + 10; policy accept;
                oifname {{wan}} ct direction original ct original ip saddr @{{OpenNatHostMap}} ip saddr @{{ExternalAddressSet}} update @{{OpenNatMap}} { udp sport : ct original ip saddr . ct original proto-src } update @{{OpenNatOutMap}} { ct original ip saddr . ct original proto-src : ip saddr . udp sport }
                oifname {{wan}} ct direction reply ct reply ip saddr @{{OpenNatHostMap}} ip saddr @{{ExternalAddressSet}} update @{{OpenNatMap}} { udp sport : ct reply ip saddr . ct reply proto-src }
              }

            """);

        // Standalone: this chain is the WAN->LAN filter. Integrate: it only marks what mappings admit (the host
        // firewall accepts the mark) and drops what a FILTER refuses, which no later chain can undo.
        bool standalone = options.Mode == FirewallMode.Standalone;
        string admit = standalone ? "accept" : string.Create(CultureInfo.InvariantCulture, $"meta mark set meta mark | 0x{options.Mark:x8} return");
        text.Append(CultureInfo.InvariantCulture, $$"""
            {{helpers}}  chain forward {
                type filter hook forward priority {{(standalone ? "filter" : "filter - 1")}}; policy accept;
            {{(observe ? RtspObserverRules(options, lans, wan) : string.Empty)}}{{openNatLearn}}    iifname {{wan}} jump wan_in
              }
              chain wan_in {
                ct status dnat ip daddr . meta l4proto . th dport @{{ForwardSet}} {{admit}}
                ct state established,related {{(standalone ? "accept" : "return")}}
            {{(observe ? $"""
                ct mark & {mark} == {mark} {admit}
                ct status dnat meta l4proto udp ip saddr . ip daddr . udp dport @{MediaForwardSet} ct mark set ct mark | {mark} {admit}
                meta l4proto udp ip6 saddr . ip6 daddr . udp dport @{MediaSet6} ct mark set ct mark | {mark} {admit}

            """ : string.Empty)}}                ct status dnat ip daddr . meta l4proto . th dport . ip saddr . th sport @{{FilteredForwardSet}} {{admit}}
                ip6 daddr . meta l4proto . th dport @{{PinholeSet}} {{admit}}
                ip6 daddr . meta l4proto . th dport . ip6 saddr . th sport @{{FilteredPinholeSet}} {{admit}}
                ct status dnat ip daddr . meta l4proto . th dport @{{FilteredEndpoints4}} drop
                ip6 daddr . meta l4proto . th dport @{{FilteredEndpoints6}} drop
                ct status dnat ip daddr @{{OpenNatHostMap}} ip daddr . udp dport @{{OpenNatOutMap}} {{admit}}
            {{(standalone ? "    drop\n" : string.Empty)}}  }
            }

            """);
        if (externalAddress is not null)
        {
            AppendSetExternalAddress(text, table, externalAddress, flush: false);
        }

        foreach (PortMapping mapping in mappings)
        {
            AppendTranslation(text, table, mapping, externalAddress);
        }

        foreach (ForwardEntry forward in forwards)
        {
            AppendAddForward(text, table, forward);
        }

        foreach (var (key, value, timeout) in outbound ?? [])
        {
            AppendOutbound(text, table, key, value, timeout);
        }

        foreach (var (opening, timeout) in media ?? [])
        {
            AppendMediaElements(text, "add", table, opening, timeout);
        }

        return text.ToString();
    }

    /// <summary>
    /// Conntrack helpers. Modern kernels assign them only when told: SIP for LAN-to-WAN calls and calls that come in
    /// through a mapping (the kernel then rewrites Via, Contact and SDP and expects the media), and the kernel's RTSP
    /// helper, where the running kernel has one, for LAN clients' control connections.
    /// </summary>
    private static string Helpers(FirewallOptions options, string lans, string wan)
    {
        var objects = new StringBuilder();
        var rules = new StringBuilder();
        if (options.SipPorts is { Count: > 0 } sip && lans.Length > 0)
        {
            string ports = PortSet(sip);
            objects.Append("""
                  ct helper sip-udp { type "sip" protocol udp; l3proto ip; }

                """);
            rules.Append(CultureInfo.InvariantCulture, $"""
                    iifname {lans} udp dport {ports} ct helper set "sip-udp"
                    iifname {wan} ct status dnat udp dport {ports} ct helper set "sip-udp"

                """);
            if (options.SipTcp)
            {
                objects.Append("""
                      ct helper sip-tcp { type "sip" protocol tcp; l3proto ip; }

                    """);
                rules.Append(CultureInfo.InvariantCulture, $"""
                        iifname {lans} tcp dport {ports} ct helper set "sip-tcp"
                        iifname {wan} ct status dnat tcp dport {ports} ct helper set "sip-tcp"

                    """);
            }
        }

        if (options.Rtsp == RtspHelperMode.Kernel && options.RtspPorts is { Count: > 0 } rtsp && lans.Length > 0)
        {
            objects.Append("""
                  ct helper rtsp-tcp { type "rtsp" protocol tcp; l3proto ip; }

                """);
            rules.Append(CultureInfo.InvariantCulture, $"""
                    iifname {lans} tcp dport {PortSet(rtsp)} ct helper set "rtsp-tcp"

                """);
        }

        return rules.Length == 0 ? string.Empty : $$"""
            {{objects}}  chain helpers {
                type filter hook prerouting priority filter; policy accept;
            {{rules}}  }

            """;
    }

    /// <summary>The RTSP observer's NFLOG rules: copies of the control connections' packets, each direction with its prefix.</summary>
    private static string RtspObserverRules(FirewallOptions options, string lans, string wan)
    {
        string ports = PortSet(options.RtspPorts!);
        return string.Create(CultureInfo.InvariantCulture, $"""
                iifname {lans} oifname {wan} tcp dport {ports} log prefix "{FirewallOptions.RtspFromClientPrefix}" group {options.RtspLogGroup}
                iifname {wan} oifname {lans} tcp sport {ports} log prefix "{FirewallOptions.RtspFromServerPrefix}" group {options.RtspLogGroup}

            """);
    }

    private static string PortSet(IEnumerable<ushort> ports) => "{ " + string.Join(", ", ports.Distinct()) + " }";

    /// <summary>A transaction that succeeds only where the kernel has a conntrack helper of this type; it leaves nothing behind.</summary>
    public static string HelperProbe(string table, string type) =>
        $"add table inet {table}\nadd ct helper inet {table} probe {{ type \"{type}\" protocol tcp; l3proto ip; }}\ndelete table inet {table}\n";

    /// <summary>Opens (or extends) media ports: each element is added, deleted and added again, which succeeds whether or not it was there.</summary>
    public static void AppendOpenMedia(StringBuilder text, string table, MediaOpening m, TimeSpan timeout)
    {
        AppendMediaElements(text, "add", table, m, TimeSpan.FromSeconds(1));
        AppendMediaElements(text, "delete", table, m, null);
        AppendMediaElements(text, "add", table, m, timeout);
    }

    /// <summary>Closes media ports, whether or not the kernel has already let them expire.</summary>
    public static void AppendCloseMedia(StringBuilder text, string table, MediaOpening m)
    {
        AppendMediaElements(text, "add", table, m, TimeSpan.FromSeconds(1));
        AppendMediaElements(text, "delete", table, m, null);
    }

    private static void AppendMediaElements(StringBuilder text, string verb, string table, MediaOpening m, TimeSpan? timeout)
    {
        if (m.IsIPv6)
        {
            text.Append(CultureInfo.InvariantCulture, $"{verb} element inet {table} {MediaSet6} {{ {m.Server} . {m.Client} . {m.Port}");
            AppendTimeout(text, timeout);
            text.Append(" }\n");
            return;
        }

        text.Append(CultureInfo.InvariantCulture, $"{verb} element inet {table} {MediaForwardSet} {{ {m.Server} . {m.Client} . {m.Port}");
        AppendTimeout(text, timeout);
        text.Append(CultureInfo.InvariantCulture, $" }}\n{verb} element inet {table} {MediaMap} {{ {m.Server} . {m.Port}");
        AppendTimeout(text, timeout);
        text.Append(verb == "delete" ? " }\n" : string.Create(CultureInfo.InvariantCulture, $" : {m.Client} . {m.Port} }}\n"));
    }

    /// <summary>The outbound-map key of a mapping that preserves its port, or null (pinholes, PEER mappings, no external address).</summary>
    public static (string Key, string Value)? OutboundElement(PortMapping m, IPAddress? externalAddress) =>
        m.IsPinhole || m.IsPeer || externalAddress is null
            ? null
            : (string.Create(CultureInfo.InvariantCulture, $"{m.InternalAddress} . {Name(m.Protocol)} . {m.InternalPort}"),
               string.Create(CultureInfo.InvariantCulture, $"{externalAddress} . {m.ExternalPort}"));

    public static void AppendOutbound(StringBuilder text, string table, string key, string value, TimeSpan? timeout)
    {
        text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {OutboundMap} {{ {key}");
        AppendTimeout(text, timeout);
        text.Append(CultureInfo.InvariantCulture, $" : {value} }}\n");
    }

    /// <summary>Sets whose elements count the packets they admit (UPnP's GetPinholePackets reads them).</summary>
    public static bool IsCounted(string set) => set is PinholeSet or FilteredPinholeSet;

    public static string GetElement(string table, ForwardKey key) => $"get element inet {table} {key.Set} {{ {key.Element} }}";

    /// <summary>Packets and bytes per element of a listing of <see cref="ForwardSet"/> (its elements carry counters).</summary>
    public static Dictionary<(IPAddress Address, TransportProtocol Protocol, ushort Port), (ulong Packets, ulong Bytes)> ParseForwardTraffic(string output)
    {
        var traffic = new Dictionary<(IPAddress, TransportProtocol, ushort), (ulong, ulong)>();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(output,
            @"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3}) \. (tcp|udp) \. (\d{1,5})[^,}]*? counter packets (\d+) bytes (\d+)"))
        {
            if (IPAddress.TryParse(m.Groups[1].Value, out IPAddress? address)
                && ushort.TryParse(m.Groups[3].Value, CultureInfo.InvariantCulture, out ushort port)
                && ulong.TryParse(m.Groups[4].Value, CultureInfo.InvariantCulture, out ulong packets)
                && ulong.TryParse(m.Groups[5].Value, CultureInfo.InvariantCulture, out ulong bytes))
            {
                traffic[(address, m.Groups[2].Value == "tcp" ? TransportProtocol.Tcp : TransportProtocol.Udp, port)] = (packets, bytes);
            }
        }

        return traffic;
    }

    /// <summary>Reads "counter packets N" from a listed element.</summary>
    public static bool TryReadPackets(string output, out ulong packets)
    {
        packets = 0;
        int at = output.IndexOf("counter packets ", StringComparison.Ordinal);
        if (at < 0)
        {
            return false;
        }

        ReadOnlySpan<char> rest = output.AsSpan(at + "counter packets ".Length);
        int end = rest.IndexOf(' ');
        return ulong.TryParse(end < 0 ? rest : rest[..end], NumberStyles.None, CultureInfo.InvariantCulture, out packets);
    }

    /// <summary>Elements per merged statement: libnftables evaluates a statement's list in one go, within one netlink message batch.</summary>
    private const int ElementsPerStatement = 4096;

    /// <summary>
    /// A full build with its single-element statements (<c>add element inet T S { e }</c>) gathered into one statement per
    /// set, after everything else. libnftables spends most of a rebuild on per-statement work, not per element: 10,000
    /// leases make some 30,000 statements, which took a second to evaluate; merged, a few. The whole text stays one
    /// transaction, so what the kernel accepts or refuses is the same.
    /// </summary>
    public static string MergeElements(string text)
    {
        var merged = new StringBuilder(text.Length);
        var sets = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (string line in text.Split('\n'))
        {
            int open = line.StartsWith("add element ", StringComparison.Ordinal) && line.EndsWith(" }", StringComparison.Ordinal)
                ? line.IndexOf(" { ", StringComparison.Ordinal) : -1;
            if (open < 0 || line.IndexOf('{', open + 3) >= 0)
            {
                if (line.Length > 0)
                {
                    merged.Append(line).Append('\n');
                }

                continue;
            }

            string head = line[..open];
            if (!sets.TryGetValue(head, out List<string>? elements))
            {
                sets[head] = elements = [];
                order.Add(head);
            }

            elements.Add(line[(open + 3)..^2]);
        }

        foreach (string head in order)
        {
            List<string> elements = sets[head];
            for (int first = 0; first < elements.Count; first += ElementsPerStatement)
            {
                merged.Append(head).Append(" { ");
                merged.AppendJoin(", ", elements.Skip(first).Take(ElementsPerStatement));
                merged.Append(" }\n");
            }
        }

        return merged.ToString();
    }

    /// <summary>The Open NAT devices: every MAC (the packet path learns their addresses) and every configured address.</summary>
    public static void AppendOpenNatDevices(StringBuilder text, string table, IEnumerable<ulong> macs, IEnumerable<IPAddress> addresses)
    {
        text.Append(CultureInfo.InvariantCulture, $"flush set inet {table} {OpenNatMacSet}\n");
        foreach (ulong mac in macs)
        {
            text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {OpenNatMacSet} {{ {MacText(mac)} }}\n");
        }

        foreach (IPAddress address in addresses)
        {
            text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {OpenNatHostMap} {{ {address} : 00:00:00:00:00:00 }}\n");
        }
    }

    public static string MacText(ulong mac) => string.Create(CultureInfo.InvariantCulture,
        $"{(byte)(mac >> 40):x2}:{(byte)(mac >> 32):x2}:{(byte)(mac >> 24):x2}:{(byte)(mac >> 16):x2}:{(byte)(mac >> 8):x2}:{(byte)mac:x2}");

    public static string ListMap(string table, string map) => $"list map inet {table} {map}";

    /// <summary>The Open NAT addresses in a listing of <see cref="OpenNatHostMap"/>, each with the MAC it was learned from (0: configured).</summary>
    public static List<(IPAddress Address, ulong Mac)> ParseOpenNatHosts(string output)
    {
        var hosts = new List<(IPAddress, ulong)>();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(output,
            @"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?: timeout \S+)?(?: expires \S+)? : ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})"))
        {
            if (IPAddress.TryParse(m.Groups[1].Value, out IPAddress? address))
            {
                hosts.Add((address, ulong.Parse(m.Groups[2].Value.Replace(":", string.Empty, StringComparison.Ordinal), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)));
            }
        }

        return hosts;
    }

    /// <summary>The endpoint mappings in a listing of <see cref="OpenNatMap"/>.</summary>
    public static List<OpenNatMapping> ParseOpenNatMappings(string output)
    {
        var mappings = new List<OpenNatMapping>();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(output,
            @"(?<![\d.])(\d{1,5})(?: timeout \S+)?(?: expires (\S+))? : (\d{1,3}(?:\.\d{1,3}){3}) \. (\d{1,5})"))
        {
            if (ushort.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out ushort external)
                && IPAddress.TryParse(m.Groups[3].Value, out IPAddress? address)
                && ushort.TryParse(m.Groups[4].Value, CultureInfo.InvariantCulture, out ushort port))
            {
                mappings.Add(new OpenNatMapping(external, address, port, ParseDuration(m.Groups[2].Value)));
            }
        }

        return mappings;
    }

    /// <summary>The internal endpoints (the keys) in a listing of <see cref="OpenNatOutMap"/>.</summary>
    public static List<(IPAddress Address, ushort Port)> ParseOpenNatEndpoints(string output)
    {
        var endpoints = new List<(IPAddress, ushort)>();
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(output,
            @"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3}) \. (\d{1,5})(?: timeout \S+)?(?: expires \S+)? :"))
        {
            if (IPAddress.TryParse(m.Groups[1].Value, out IPAddress? address) && ushort.TryParse(m.Groups[2].Value, CultureInfo.InvariantCulture, out ushort port))
            {
                endpoints.Add((address, port));
            }
        }

        return endpoints;
    }

    /// <summary>nft's durations: "4m59s600ms", "1h", "2d3h".</summary>
    public static TimeSpan ParseDuration(string text)
    {
        TimeSpan total = TimeSpan.Zero;
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, @"(\d+)(ms|d|h|m|s)"))
        {
            double n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "d" => TimeSpan.FromDays(n),
                "h" => TimeSpan.FromHours(n),
                "m" => TimeSpan.FromMinutes(n),
                "s" => TimeSpan.FromSeconds(n),
                _ => TimeSpan.FromMilliseconds(n),
            };
        }

        return total;
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

    /// <summary>The mapping's translation element, if it has one: a DNAT entry, or for a PEER mapping a SNAT entry.</summary>
    public static void AppendTranslation(StringBuilder text, string table, PortMapping m, IPAddress? externalAddress)
    {
        if (m.IsPinhole)
        {
            return;
        }

        if (m.RemotePeer is { } peer)
        {
            if (externalAddress is null)
            {
                return;
            }

            text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {PeerMap} {{ {PeerKey(m, peer)}");
            AppendTimeout(text, m.Timeout);
            text.Append(CultureInfo.InvariantCulture, $" : {externalAddress} . {m.ExternalPort} }}\n");
            return;
        }

        text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {NatMap} {{ {Name(m.Protocol)} . {m.ExternalPort}");
        AppendTimeout(text, m.Timeout);
        text.Append(CultureInfo.InvariantCulture, $" : {m.InternalAddress} . {m.InternalPort} }}\n");
    }

    public static void AppendDeleteTranslation(StringBuilder text, string table, PortMapping m)
    {
        if (m.IsPinhole)
        {
            return;
        }

        text.Append(m.RemotePeer is { } peer
            ? $"delete element inet {table} {PeerMap} {{ {PeerKey(m, peer)} }}\n"
            : string.Create(CultureInfo.InvariantCulture, $"delete element inet {table} {NatMap} {{ {Name(m.Protocol)} . {m.ExternalPort} }}\n"));
    }

    /// <summary>The forward-set elements a mapping needs. A PEER mapping needs none: its replies are established flows.</summary>
    public static ForwardKey[] ForwardKeys(PortMapping m)
    {
        if (m.IsPeer)
        {
            return [];
        }

        string endpoint = string.Create(CultureInfo.InvariantCulture, $"{m.InternalAddress} . {Name(m.Protocol)} . {m.InternalPort}");
        if (m.FilterList.Count == 0)
        {
            return [new ForwardKey(m.IsPinhole ? PinholeSet : ForwardSet, endpoint)];
        }

        var keys = new ForwardKey[m.FilterList.Count + 1];
        keys[0] = new ForwardKey(m.IsPinhole ? FilteredEndpoints6 : FilteredEndpoints4, endpoint);
        for (int i = 0; i < m.FilterList.Count; i++)
        {
            RemoteFilter f = m.FilterList[i];
            string ports = f.Port == 0 ? "0-65535" : f.Port.ToString(CultureInfo.InvariantCulture);
            keys[i + 1] = new ForwardKey(m.IsPinhole ? FilteredPinholeSet : FilteredForwardSet, $"{endpoint} . {f.Network} . {ports}");
        }

        return keys;
    }

    public static void AppendAddForward(StringBuilder text, string table, ForwardEntry f)
    {
        text.Append(CultureInfo.InvariantCulture, $"add element inet {table} {f.Key.Set} {{ {f.Key.Element}");
        AppendTimeout(text, f.Timeout);
        text.Append(" }\n");
    }

    public static void AppendDeleteForward(StringBuilder text, string table, ForwardKey key) =>
        text.Append(CultureInfo.InvariantCulture, $"delete element inet {table} {key.Set} {{ {key.Element} }}\n");

    private static string PeerKey(PortMapping m, IPEndPoint peer) =>
        string.Create(CultureInfo.InvariantCulture, $"{m.InternalAddress} . {Name(m.Protocol)} . {m.InternalPort} . {peer.Address} . {peer.Port}");

    private static void AppendTimeout(StringBuilder text, TimeSpan? timeout)
    {
        if (timeout is { } t)
        {
            // Seconds and milliseconds apart: nft (1.0.6) refuses a plain millisecond count above about 2^27
            // ("value too large": a week, as an IGD:2 lease of 0 asks for), but takes "604799s999ms".
            long ms = Math.Max(1, (long)Math.Ceiling(t.TotalMilliseconds));
            (long seconds, long rest) = Math.DivRem(ms, 1000);
            text.Append(" timeout ");
            if (seconds > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"{seconds}s");
            }

            if (rest > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"{rest}ms");
            }
        }
    }

    private static string Name(TransportProtocol protocol) => protocol == TransportProtocol.Tcp ? "tcp" : "udp";
}
