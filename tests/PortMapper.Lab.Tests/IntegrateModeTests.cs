using System.Net;
using System.Net.Sockets;
using PortMapper.Conformance.PcpClient;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose daemon runs in integrate mode: translation only, filtering left to the host firewall.</summary>
public sealed class IntegrateLab : GatewayLab
{
    public IntegrateLab()
    {
        ConfigJson = """{ "firewall": { "mode": "integrate" } }""";
    }
}

public class IntegrateModeTests : IClassFixture<IntegrateLab>
{
    private readonly IntegrateLab _lab;

    public IntegrateModeTests(IntegrateLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task Integrate_TranslatesMappingsButLeavesForwardingPolicyToTheHost()
    {
        string table = await _lab.KernelTableAsync();
        Assert.Contains("dnat ip to", table, StringComparison.Ordinal);
        Assert.Contains("hook forward priority filter - 1", table, StringComparison.Ordinal);
        Assert.Contains("meta mark set meta mark | 0x10000000 return", table, StringComparison.Ordinal);

        using TcpListener mapped = GatewayLab.ServeTcp(_lab.Lan1, 8300, "integrated");
        Assert.Equal(8300, (await _lab.NatPmpcAsync(_lab.Lan1, 8300, 8300, "tcp", 600)).PublicPort);
        Assert.Equal("integrated", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8300));

        // With no host firewall in the lab, a WAN host routing straight to the LAN is not stopped by the daemon.
        await Shell.InNamespaceAsync(_lab.Wan, "ip", "route", "replace", "192.168.77.0/24", "via", "203.0.113.1");
        using TcpListener direct = GatewayLab.ServeTcp(_lab.Lan2, 8301, "host-firewall-decides");
        Assert.Equal("host-firewall-decides", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan2Address, 8301));
    }

    [Fact]
    public async Task Integrate_FilterStillEnforcedByTheDaemonsTable()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8310, "only-dot-2");
        byte[] map = PcpMessage.Map(GatewayLab.Lan1Address, PcpMessage.Tcp, 8310, 8310, 600, PcpMessage.NewNonce(), PcpMessage.Filter(GatewayLab.WanHost, 32, 0));
        using Socket socket = GatewayLab.Udp(_lab.Lan1, address: GatewayLab.Lan1Address);
        PcpAnswer? answer = await PcpMessage.AskAsync(socket, new IPEndPoint(GatewayLab.GatewayLan, 5351), map, TimeSpan.FromSeconds(1));
        Assert.Equal(PcpAnswer.Success, answer!.Result);

        Assert.Equal("only-dot-2", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, answer.ExternalPort, from: GatewayLab.WanHost));
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, answer.ExternalPort, TimeSpan.FromSeconds(1), from: GatewayLab.WanHost2));
    }

    [Fact]
    public async Task FirewallSnippet_PrintsTheHostRule()
    {
        ProcessResult r = await Shell.RunAsync(Repository.DaemonPath, ["firewall-snippet"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("meta mark & 0x10000000 == 0x10000000 accept", r.Output.Trim());
    }
}
