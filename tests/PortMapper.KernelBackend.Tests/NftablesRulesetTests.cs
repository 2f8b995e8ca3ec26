using System.Net;
using System.Text;
using PortMapper.KernelBackend.Nftables;

namespace PortMapper.KernelBackend.Tests;

public class NftablesRulesetTests
{
    private static readonly FirewallOptions s_standalone = new("portmapper", FirewallMode.Standalone, "wan0", ["br-lan"]);
    private static readonly IPAddress s_host = IPAddress.Parse("192.168.77.10");

    [Fact]
    public void Build_Standalone_ReplacesTableAtomicallyAndDropsOtherWanFlows()
    {
        string text = NftablesRuleset.Build(s_standalone, IPAddress.Parse("203.0.113.1"), [], []);
        Assert.StartsWith("add table inet portmapper\ndelete table inet portmapper\ntable inet portmapper {", text, StringComparison.Ordinal);
        Assert.Contains("map nat4 { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }", text, StringComparison.Ordinal);
        Assert.Contains("iifname \"wan0\" ip daddr @ext4 meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @nat4", text, StringComparison.Ordinal);
        Assert.Contains("ct status dnat ip daddr . meta l4proto . th dport @fwd4 accept", text, StringComparison.Ordinal);
        Assert.Contains("ip6 daddr . meta l4proto . th dport @pin6 accept", text, StringComparison.Ordinal);
        Assert.Contains("ip6 daddr . meta l4proto . th dport @only6 drop\n    ct status dnat ip daddr @onat4 ip daddr . udp dport @eimout4 accept\n    drop\n", text, StringComparison.Ordinal);
        Assert.Contains("add element inet portmapper ext4 { 203.0.113.1 }", text, StringComparison.Ordinal);
    }

    [Fact]
    public void MergeElements_OneStatementPerSet_AfterTheDefinitions_InOrder()
    {
        string text =
            "add table inet t\ndelete table inet t\ntable inet t {\n  set s { type ipv4_addr; elements = { 127.0.0.1 }; }\n}\n" +
            "add element inet t nat4 { tcp . 80 timeout 1h : 192.168.77.10 . 80 }\n" +
            "add element inet t fwd4 { 192.168.77.10 . tcp . 80 timeout 1h }\n" +
            "add element inet t nat4 { udp . 53 : 192.168.77.11 . 53 }\n" +
            "add rule inet t c accept\n";
        Assert.Equal(
            "add table inet t\ndelete table inet t\ntable inet t {\n  set s { type ipv4_addr; elements = { 127.0.0.1 }; }\n}\nadd rule inet t c accept\n" +
            "add element inet t nat4 { tcp . 80 timeout 1h : 192.168.77.10 . 80, udp . 53 : 192.168.77.11 . 53 }\n" +
            "add element inet t fwd4 { 192.168.77.10 . tcp . 80 timeout 1h }\n",
            NftablesRuleset.MergeElements(text));

        // Long lists go out in statements of 4,096 elements.
        string many = string.Concat(Enumerable.Range(1, 5000).Select(i => $"add element inet t p {{ tcp . {i} }}\n"));
        string[] statements = NftablesRuleset.MergeElements(many).TrimEnd('\n').Split('\n');
        Assert.Equal(2, statements.Length);
        Assert.Equal(4096, statements[0].Split(", ").Length);
        Assert.EndsWith("tcp . 5000 }", statements[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Build_Integrate_MarksWhatMappingsAdmitAndDropsOnlyWhatFiltersRefuse()
    {
        string text = NftablesRuleset.Build(s_standalone with { Mode = FirewallMode.Integrate, Mark = 0x20 }, null, [], []);
        Assert.Contains("type filter hook forward priority filter - 1; policy accept;", text, StringComparison.Ordinal);
        Assert.Contains("@fwd4 meta mark set meta mark | 0x00000020 return", text, StringComparison.Ordinal);
        Assert.Contains("@only4 drop\n    ip6 daddr . meta l4proto . th dport @only6 drop\n    ct status dnat ip daddr @onat4 ip daddr . udp dport @eimout4 meta mark set meta mark | 0x00000020 return\n  }", text, StringComparison.Ordinal);
        Assert.Equal("meta mark & 0x00000020 == 0x00000020 accept", NftablesRuleset.IntegrateSnippet(0x20));
    }

    [Fact]
    public void Build_SipHelper_UdpByDefault_TcpOnlyWhenAskedFor()
    {
        string udpOnly = NftablesRuleset.Build(s_standalone with { SipPorts = [5060] }, null, [], []);
        Assert.Contains("ct helper set \"sip-udp\"", udpOnly, StringComparison.Ordinal);
        Assert.DoesNotContain("sip-tcp", udpOnly, StringComparison.Ordinal);

        string both = NftablesRuleset.Build(s_standalone with { SipPorts = [5060], SipTcp = true }, null, [], []);
        Assert.Contains("ct helper sip-tcp { type \"sip\" protocol tcp; l3proto ip; }", both, StringComparison.Ordinal);
        Assert.Contains("ct helper set \"sip-tcp\"", both, StringComparison.Ordinal);
    }

    [Fact]
    public void Translation_WithTimeout_UsesMillisecondsRoundedUp()
    {
        var text = new StringBuilder();
        NftablesRuleset.AppendTranslation(text, "t", new PortMapping(TransportProtocol.Udp, 5000, s_host, 5001, TimeSpan.FromMilliseconds(1500.2)), null);
        Assert.Equal("add element inet t nat4 { udp . 5000 timeout 1s501ms : 192.168.77.10 . 5001 }\n", text.ToString());
    }

    [Fact]
    public void Translation_Permanent_HasNoTimeout()
    {
        var text = new StringBuilder();
        NftablesRuleset.AppendTranslation(text, "t", new PortMapping(TransportProtocol.Tcp, 80, s_host, 8080, null), null);
        Assert.Equal("add element inet t nat4 { tcp . 80 : 192.168.77.10 . 8080 }\n", text.ToString());
    }

    [Fact]
    public void Peer_IsASnatEntryToTheExternalAddressAndNeedsNoForwardEntry()
    {
        var peer = new PortMapping(TransportProtocol.Udp, 40000, s_host, 5000, TimeSpan.FromSeconds(60), 3, null, new IPEndPoint(IPAddress.Parse("198.51.100.7"), 3478));
        var text = new StringBuilder();
        NftablesRuleset.AppendTranslation(text, "t", peer, IPAddress.Parse("203.0.113.1"));
        NftablesRuleset.AppendDeleteTranslation(text, "t", peer);
        Assert.Equal(
            "add element inet t peer4 { 192.168.77.10 . udp . 5000 . 198.51.100.7 . 3478 timeout 60s : 203.0.113.1 . 40000 }\n" +
            "delete element inet t peer4 { 192.168.77.10 . udp . 5000 . 198.51.100.7 . 3478 }\n",
            text.ToString());
        Assert.Empty(NftablesRuleset.ForwardKeys(peer));
    }

    [Fact]
    public void ForwardKeys_PinholeAndFilteredMappings()
    {
        var pinhole = new PortMapping(TransportProtocol.Tcp, 8080, IPAddress.Parse("2001:db8:77::10"), 8080, null, 1);
        Assert.Equal([new ForwardKey("pin6", "2001:db8:77::10 . tcp . 8080")], NftablesRuleset.ForwardKeys(pinhole));
        var text = new StringBuilder();
        NftablesRuleset.AppendTranslation(text, "t", pinhole, null);
        Assert.Equal(string.Empty, text.ToString());

        var filtered = pinhole with { Filters = [new RemoteFilter(IPNetwork.Parse("2001:db8:ffff::/64"), 443)] };
        Assert.Equal(
            [new ForwardKey("only6", "2001:db8:77::10 . tcp . 8080"), new ForwardKey("filt6", "2001:db8:77::10 . tcp . 8080 . 2001:db8:ffff::/64 . 443")],
            NftablesRuleset.ForwardKeys(filtered));
    }

    [Fact]
    public void Build_OpenNat_LearnsInThePacketPath_KeepsPorts_AndLetsAnyoneInOnlyToOpenNatEndpoints()
    {
        string text = NftablesRuleset.Build(s_standalone with { OpenNatIdleSeconds = 240, OpenNatMaxMappings = 1000 }, IPAddress.Parse("203.0.113.1"), [], []);
        Assert.Contains("map eim4 { type inet_service : ipv4_addr . inet_service; flags timeout; timeout 240s; size 1000; }", text, StringComparison.Ordinal);
        Assert.Contains("map eimout4 { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; timeout 240s; size 1000; }", text, StringComparison.Ordinal);
        // Addresses learned from the devices' MACs on the LAN side, as long as they send.
        Assert.Contains("iifname { \"br-lan\" } ether saddr @onatmac update @onat4 { ip saddr timeout 240s : ether saddr }", text, StringComparison.Ordinal);
        // Outbound: the endpoint's own port again, else a random one where another holds it, else masquerade's choice.
        int keep = text.IndexOf("snat ip to ip saddr . udp sport map @eimout4", StringComparison.Ordinal);
        int taken = text.IndexOf("udp sport @eim4 masquerade to :1024-65535 random", StringComparison.Ordinal);
        int leased = text.IndexOf("meta l4proto . udp sport @nat4 masquerade to :1024-65535 random", StringComparison.Ordinal);
        Assert.True(keep > 0 && keep < taken && taken < leased, text);
        // The packet path records (and refreshes) the mapping after NAT, only for the external address.
        Assert.Contains("type filter hook postrouting priority srcnat + 10; policy accept;", text, StringComparison.Ordinal);
        Assert.Contains("ct direction original ct original ip saddr @onat4 ip saddr @ext4 update @eim4 { udp sport : ct original ip saddr . ct original proto-src } update @eimout4", text, StringComparison.Ordinal);
        // Inbound: leases first, then the gateway's own sockets, then Open NAT.
        int lease = text.IndexOf("dnat ip to meta l4proto . th dport map @nat4", StringComparison.Ordinal);
        int own = text.IndexOf("meta l4proto udp socket wildcard { 0, 1 } accept", StringComparison.Ordinal);
        int open = text.IndexOf("iifname \"wan0\" ip daddr @ext4 dnat ip to udp dport map @eim4", StringComparison.Ordinal);
        Assert.True(lease > 0 && lease < own && own < open, text);
    }

    [Fact]
    public void ForwardTraffic_ReadsEachElementsCounter_AndForwardAcceptsComeFirst()
    {
        string listing = """
            table inet t {
            	set fwd4 {
            		type ipv4_addr . inet_proto . inet_service
            		flags timeout
            		counter
            		elements = { 192.168.77.11 . tcp . 7700 timeout 1h expires 59m48s counter packets 4 bytes 216,
            			     192.168.77.11 . udp . 7650 timeout 10m expires 9m53s counter packets 0 bytes 0 }
            	}
            }
            """;
        var traffic = NftablesRuleset.ParseForwardTraffic(listing);
        Assert.Equal((4UL, 216UL), traffic[(IPAddress.Parse("192.168.77.11"), TransportProtocol.Tcp, 7700)]);
        Assert.Equal((0UL, 0UL), traffic[(IPAddress.Parse("192.168.77.11"), TransportProtocol.Udp, 7650)]);
        Assert.Equal(2, traffic.Count);

        // Counted for every packet of the flows a mapping admitted, not only the first: before the established rule.
        string text = NftablesRuleset.Build(s_standalone, null, [], []);
        Assert.Contains("set fwd4 { type ipv4_addr . inet_proto . inet_service; flags timeout; counter; }", text, StringComparison.Ordinal);
        Assert.Contains("chain wan_in {\n    ct status dnat ip daddr . meta l4proto . th dport @fwd4 accept\n    ct state established,related accept", text, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenNatDevices_AndListings_RoundTrip()
    {
        var text = new StringBuilder();
        NftablesRuleset.AppendOpenNatDevices(text, "t", [0x020000000001UL], [IPAddress.Parse("192.168.77.20")]);
        Assert.Equal(
            "flush set inet t onatmac\nadd element inet t onatmac { 02:00:00:00:00:01 }\nadd element inet t onat4 { 192.168.77.20 : 00:00:00:00:00:00 }\n",
            text.ToString());

        string hosts = """
            table inet t {
            	map onat4 {
            		type ipv4_addr : ether_addr
            		size 4096
            		flags timeout
            		elements = { 192.168.77.10 timeout 5m expires 4m59s600ms : c6:25:9c:ab:6f:3c, 192.168.77.50 : 00:00:00:00:00:00 }
            	}
            }
            """;
        Assert.Equal([(IPAddress.Parse("192.168.77.10"), 0xc6259cab6f3cUL), (IPAddress.Parse("192.168.77.50"), 0UL)], NftablesRuleset.ParseOpenNatHosts(hosts));

        string mappings = """
            table inet t {
            	map eim4 {
            		type inet_service : ipv4_addr . inet_service
            		size 4096
            		timeout 5m
            		elements = { 4000 expires 4m32s492ms : 192.168.77.10 . 4000,
            			     14545 expires 1h2m : 192.168.77.11 . 4000 }
            	}
            }
            """;
        Assert.Equal(
            [new OpenNatMapping(4000, IPAddress.Parse("192.168.77.10"), 4000, new TimeSpan(0, 0, 4, 32, 492)), new OpenNatMapping(14545, IPAddress.Parse("192.168.77.11"), 4000, TimeSpan.FromMinutes(62))],
            NftablesRuleset.ParseOpenNatMappings(mappings));
        Assert.Equal([(IPAddress.Parse("192.168.77.11"), (ushort)4000)], NftablesRuleset.ParseOpenNatEndpoints(
            "\t\telements = { 192.168.77.11 . 4000 expires 4m59s404ms : 203.0.113.1 . 14545 }\n"));
        Assert.Empty(NftablesRuleset.ParseOpenNatMappings("table inet t {\n\tmap eim4 {\n\t\ttype inet_service : ipv4_addr . inet_service\n\t\tsize 4096\n\t}\n}\n"));
    }
}

public class NftablesRulesetRtspTests
{
    private static readonly FirewallOptions s_observer = new("portmapper", FirewallMode.Standalone, "wan0", ["br-lan"], Rtsp: RtspHelperMode.Observer, RtspPorts: [554, 8554]);
    private static readonly MediaOpening s_media = new(IPAddress.Parse("203.0.113.2"), IPAddress.Parse("192.168.77.10"), 5000);

    [Fact]
    public void Build_Observer_LogsBothDirectionsOfControlConnectionsAndTranslatesMediaFirst()
    {
        string text = NftablesRuleset.Build(s_observer, IPAddress.Parse("203.0.113.1"), [], [], media: [(s_media, TimeSpan.FromSeconds(120))]);
        Assert.Contains("iifname { \"br-lan\" } oifname \"wan0\" tcp dport { 554, 8554 } log prefix \"pm-rtsp-c\" group 554\n", text, StringComparison.Ordinal);
        Assert.Contains("iifname \"wan0\" oifname { \"br-lan\" } tcp sport { 554, 8554 } log prefix \"pm-rtsp-s\" group 554\n", text, StringComparison.Ordinal);

        // Media from that server to that port only, ahead of the port mappings, which may use the same external port.
        int media = text.IndexOf("meta l4proto udp dnat ip to ip saddr . udp dport map @media4", StringComparison.Ordinal);
        int mappings = text.IndexOf("dnat ip to meta l4proto . th dport map @nat4", StringComparison.Ordinal);
        Assert.InRange(media, 0, mappings);
        Assert.Contains("ct mark & 0x10000000 == 0x10000000 accept\n", text, StringComparison.Ordinal);
        Assert.Contains("ip saddr . ip daddr . udp dport @mediafwd4 ct mark set ct mark | 0x10000000 accept\n", text, StringComparison.Ordinal);
        Assert.Contains("add element inet portmapper mediafwd4 { 203.0.113.2 . 192.168.77.10 . 5000 timeout 120s }\n", text, StringComparison.Ordinal);
        Assert.Contains("add element inet portmapper media4 { 203.0.113.2 . 5000 timeout 120s : 192.168.77.10 . 5000 }\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("rtsp-tcp", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(RtspHelperMode.Off)]
    [InlineData(RtspHelperMode.Kernel)]
    public void Build_WithoutObserver_HasNoLogRulesAndNoMarkAccept(RtspHelperMode mode)
    {
        string text = NftablesRuleset.Build(s_observer with { Rtsp = mode }, null, [], []);
        Assert.DoesNotContain("log prefix", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ct mark", text, StringComparison.Ordinal);
        Assert.DoesNotContain("@media4", text, StringComparison.Ordinal);
        Assert.Equal(mode == RtspHelperMode.Kernel, text.Contains("iifname { \"br-lan\" } tcp dport { 554, 8554 } ct helper set \"rtsp-tcp\"", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_IntegrateObserver_MarksMediaPacketsForTheHostFirewall()
    {
        string text = NftablesRuleset.Build(s_observer with { Mode = FirewallMode.Integrate, Mark = 0x20 }, null, [], []);
        Assert.Contains("ct mark & 0x00000020 == 0x00000020 meta mark set meta mark | 0x00000020 return\n", text, StringComparison.Ordinal);
        Assert.Contains("@media6 ct mark set ct mark | 0x00000020 meta mark set meta mark | 0x00000020 return\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenAndCloseMedia_SucceedWhetherOrNotTheElementsAreThere()
    {
        var text = new StringBuilder();
        NftablesRuleset.AppendOpenMedia(text, "t", s_media, TimeSpan.FromSeconds(90));
        NftablesRuleset.AppendCloseMedia(text, "t", s_media with { Server = IPAddress.Parse("2001:db8:ffff::2"), Client = IPAddress.Parse("2001:db8:77::10") });
        Assert.Equal(
            "add element inet t mediafwd4 { 203.0.113.2 . 192.168.77.10 . 5000 timeout 1s }\n" +
            "add element inet t media4 { 203.0.113.2 . 5000 timeout 1s : 192.168.77.10 . 5000 }\n" +
            "delete element inet t mediafwd4 { 203.0.113.2 . 192.168.77.10 . 5000 }\n" +
            "delete element inet t media4 { 203.0.113.2 . 5000 }\n" +
            "add element inet t mediafwd4 { 203.0.113.2 . 192.168.77.10 . 5000 timeout 90s }\n" +
            "add element inet t media4 { 203.0.113.2 . 5000 timeout 90s : 192.168.77.10 . 5000 }\n" +
            "add element inet t media6 { 2001:db8:ffff::2 . 2001:db8:77::10 . 5000 timeout 1s }\n" +
            "delete element inet t media6 { 2001:db8:ffff::2 . 2001:db8:77::10 . 5000 }\n",
            text.ToString());
    }
}

public class NflogSocketTests
{
    /// <summary>
    /// One NFULNL_MSG_PACKET message as nfnetlink_log sends it: nlmsghdr, nfgenmsg (AF_INET), then NFULA_PACKET_HDR,
    /// NFULA_PREFIX ("pm-rtsp-c" and its NUL) and NFULA_PAYLOAD (a 4-octet stand-in for the packet), each padded.
    /// </summary>
    private static readonly byte[] s_message = Convert.FromHexString(
        "3c000000" + "0004" + "0000" + "00000000" + "00000000" +
        "02000000" +
        "0800" + "0100" + "08000300" +
        "0e00" + "0a00" + "706d2d727473702d6300" + "0000" +
        "0800" + "0900" + "45000014" +
        "0800" + "0400" + "00000003");

    [Fact]
    public void Read_PacketMessage_GivesFamilyPrefixAndPacket()
    {
        var packets = new List<Netlink.LoggedPacket>();
        Netlink.NflogSocket.Read(s_message, packets);
        Netlink.LoggedPacket p = Assert.Single(packets);
        Assert.Equal(2, p.Family);
        Assert.Equal("pm-rtsp-c", Encoding.ASCII.GetString(p.Prefix.Span));
        Assert.Equal([0x45, 0x00, 0x00, 0x14], p.Packet.ToArray());
    }

    [Fact]
    public void Read_TwoMessagesInOneDatagram_GivesBoth_AndATruncatedOneNothing()
    {
        var packets = new List<Netlink.LoggedPacket>();
        Netlink.NflogSocket.Read(s_message.Concat(s_message).ToArray(), packets);
        Assert.Equal(2, packets.Count);
        for (int n = 0; n < s_message.Length; n++)
        {
            packets.Clear();
            Netlink.NflogSocket.Read(s_message.AsMemory(0, n), packets);
            Assert.Empty(packets);
        }
    }

}
