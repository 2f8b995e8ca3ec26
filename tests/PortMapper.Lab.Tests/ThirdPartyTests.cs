using System.Net;
using System.Net.Sockets;
using PortMapper.Conformance.PcpClient;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose daemon allows PCP THIRD_PARTY.</summary>
public sealed class ThirdPartyLab : GatewayLab
{
    public ThirdPartyLab()
    {
        ConfigJson = """{ "pcp": { "allowThirdParty": true } }""";
    }
}

public class ThirdPartyTests : IClassFixture<ThirdPartyLab>
{
    private readonly ThirdPartyLab _lab;

    public ThirdPartyTests(ThirdPartyLab lab)
    {
        _lab = lab;
    }

    private async Task<PcpAnswer?> AskFromLan1Async(ushort port, IPAddress target)
    {
        byte[] map = PcpMessage.Map(GatewayLab.Lan1Address, PcpMessage.Tcp, port, port, 600, PcpMessage.NewNonce(), PcpMessage.ThirdParty(target));
        using Socket socket = GatewayLab.Udp(_lab.Lan1, address: GatewayLab.Lan1Address);
        return await PcpMessage.AskAsync(socket, new IPEndPoint(GatewayLab.GatewayLan, 5351), map, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task AllowedThirdParty_OneLanHostMapsForAnother_ReachableFromWan()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan2, 8800, "served-by-lan2");
        PcpAnswer? answer = await AskFromLan1Async(8800, GatewayLab.Lan2Address);
        Assert.Equal(PcpAnswer.Success, answer!.Result);
        Assert.Equal(24 + 36 + 20, answer.Length); // THIRD_PARTY echoed
        Assert.Equal("served-by-lan2", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, answer.ExternalPort));
    }

    [Fact]
    public async Task ThirdPartyNamingTheGatewayOrAWanHost_NotAuthorized()
    {
        Assert.Equal(PcpAnswer.NotAuthorized, (await AskFromLan1Async(8810, GatewayLab.GatewayLan))!.Result);
        Assert.Equal(PcpAnswer.NotAuthorized, (await AskFromLan1Async(8811, GatewayLab.WanHost))!.Result);
        Assert.DoesNotContain("881", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }
}
