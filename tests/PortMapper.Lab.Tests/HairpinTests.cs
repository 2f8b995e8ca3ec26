using System.Net.Sockets;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>Hairpin (NAT loopback): a LAN host reaches a mapping through the external address.</summary>
public class HairpinTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public HairpinTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task LanHost_ReachesTheMappedHostThroughTheExternalAddress()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8610, "hairpin");
        Assert.Equal(18610, (await _lab.NatPmpcAsync(_lab.Lan1, 18610, 8610, "tcp", 600)).PublicPort);
        Assert.Equal("hairpin", await GatewayLab.TryTcpAsync(_lab.Lan2, GatewayLab.External, 18610));
        Assert.Equal("hairpin", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 18610));

        // No mapping, no hairpin: the gateway's own external address answers nothing on that port.
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Lan2, GatewayLab.External, 18611, TimeSpan.FromSeconds(1)));
    }
}

/// <summary>firewall.hairpin false: LAN hosts do not come back in through the external address.</summary>
public class NoHairpinTests : IClassFixture<NoHairpinLab>
{
    private readonly NoHairpinLab _lab;

    public NoHairpinTests(NoHairpinLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task HairpinOff_LanHostIsNotLoopedBack_WanStillReaches()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8620, "no-hairpin");
        Assert.Equal(18620, (await _lab.NatPmpcAsync(_lab.Lan1, 18620, 8620, "tcp", 600)).PublicPort);
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Lan2, GatewayLab.External, 18620, TimeSpan.FromSeconds(1)));
        Assert.Equal("no-hairpin", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 18620));
    }
}
