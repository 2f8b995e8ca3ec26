using System.Net;
using System.Text;
using PortMapper.KernelBackend.Nftables;

namespace PortMapper.KernelBackend.Tests;

public class NftablesRulesetTests
{
    private static readonly FirewallOptions s_standalone = new("portmapper", FirewallMode.Standalone, "wan0", ["br-lan"]);

    [Fact]
    public void Build_Standalone_ReplacesTableAtomicallyAndDropsOtherWanFlows()
    {
        string text = NftablesRuleset.Build(s_standalone, IPAddress.Parse("203.0.113.1"), [], []);
        Assert.StartsWith("add table inet portmapper\ndelete table inet portmapper\ntable inet portmapper {", text, StringComparison.Ordinal);
        Assert.Contains("map nat4 { type inet_proto . inet_service : ipv4_addr . inet_service; flags timeout; }", text, StringComparison.Ordinal);
        Assert.Contains("iifname \"wan0\" ip daddr @ext4 meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @nat4", text, StringComparison.Ordinal);
        Assert.Contains("ct status dnat ip daddr . meta l4proto . th dport @fwd4 accept\n    drop", text, StringComparison.Ordinal);
        Assert.Contains("add element inet portmapper ext4 { 203.0.113.1 }", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_Integrate_HasNoForwardChain()
    {
        string text = NftablesRuleset.Build(s_standalone with { Mode = FirewallMode.Integrate }, null, [], []);
        Assert.DoesNotContain("hook forward", text, StringComparison.Ordinal);
        Assert.DoesNotContain("drop", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ext4 {", text.Split("table inet portmapper {")[1].Split('}').Last(), StringComparison.Ordinal);
    }

    [Fact]
    public void AppendAddNat_WithTimeout_UsesMillisecondsRoundedUp()
    {
        var text = new StringBuilder();
        NftablesRuleset.AppendAddNat(text, "t", new PortMapping(TransportProtocol.Udp, 5000, IPAddress.Parse("192.168.77.10"), 5001, TimeSpan.FromMilliseconds(1500.2)));
        Assert.Equal("add element inet t nat4 { udp . 5000 timeout 1501ms : 192.168.77.10 . 5001 }\n", text.ToString());
    }

    [Fact]
    public void AppendAddNat_Permanent_HasNoTimeout()
    {
        var text = new StringBuilder();
        NftablesRuleset.AppendAddNat(text, "t", new PortMapping(TransportProtocol.Tcp, 80, IPAddress.Parse("192.168.77.10"), 8080, null));
        Assert.Equal("add element inet t nat4 { tcp . 80 : 192.168.77.10 . 8080 }\n", text.ToString());
    }
}
