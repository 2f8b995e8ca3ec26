using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>Outbound port preservation: a mapped host's traffic leaves with its mapping's external port.</summary>
public class PortPreservationTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public PortPreservationTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private static async Task<IPEndPoint?> SeenFromAsync(Socket from, Socket wan, int wanPort)
    {
        await from.SendToAsync(Encoding.ASCII.GetBytes("hello"), SocketFlags.None, new IPEndPoint(GatewayLab.WanHost, wanPort));
        return (await GatewayLab.ReceiveAsync(wan, TimeSpan.FromSeconds(2)))?.From;
    }

    [Fact]
    public async Task MappedHost_OutboundLeavesWithTheExternalPort()
    {
        Assert.Equal(18700, (await _lab.NatPmpcAsync(_lab.Lan1, 18700, 8700, "udp", 600)).PublicPort);
        using Socket wan = GatewayLab.Udp(_lab.Wan, 9700);
        using Socket lan = GatewayLab.Udp(_lab.Lan1, 8700);
        Assert.Equal(new IPEndPoint(GatewayLab.External, 18700), await SeenFromAsync(lan, wan, 9700));

        // Another port of the same host is not mapped: ordinary masquerade.
        using Socket other = GatewayLab.Udp(_lab.Lan1, 8701);
        Assert.Equal(8701, (await SeenFromAsync(other, wan, 9700))!.Port);
    }

    [Fact]
    public async Task TwoConsoles_SameGamePort_EachKeepsItsOwnExternalPort()
    {
        Assert.Equal(3074, (await _lab.NatPmpcAsync(_lab.Lan1, 3074, 3074, "udp", 600)).PublicPort);
        Assert.Equal(3075, (await _lab.NatPmpcAsync(_lab.Lan2, 3074, 3074, "udp", 600)).PublicPort);
        using Socket wan = GatewayLab.Udp(_lab.Wan, 9701);
        using Socket console1 = GatewayLab.Udp(_lab.Lan1, 3074);
        using Socket console2 = GatewayLab.Udp(_lab.Lan2, 3074);
        Assert.Equal(3074, (await SeenFromAsync(console1, wan, 9701))!.Port);
        Assert.Equal(3075, (await SeenFromAsync(console2, wan, 9701))!.Port);

        // What the game server sees is what it can answer to, through the mapping.
        await wan.SendToAsync(Encoding.ASCII.GetBytes("to-2"), SocketFlags.None, new IPEndPoint(GatewayLab.External, 3075));
        Assert.Equal("to-2", await GatewayLab.ReceiveAsync(console2, TimeSpan.FromSeconds(2)) is { } got ? Encoding.ASCII.GetString(got.Data) : null);

        // When the mapping goes, its flows are ended, and with them the preserved port: the next packet is translated afresh.
        await _lab.NatPmpcAsync(_lab.Lan2, 3074, 3074, "udp", 0);
        await Task.Delay(200);
        Assert.NotEqual(3075, (await SeenFromAsync(console2, wan, 9701))!.Port);
    }
}

/// <summary>firewall.preservePorts false: mapped hosts' outbound traffic is masqueraded as any other.</summary>
public class NoPortPreservationTests : IClassFixture<NoPreserveLab>
{
    private readonly NoPreserveLab _lab;

    public NoPortPreservationTests(NoPreserveLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task PreservationOff_OutboundKeepsTheInternalPort()
    {
        Assert.Equal(18710, (await _lab.NatPmpcAsync(_lab.Lan1, 18710, 8710, "udp", 600)).PublicPort);
        using Socket wan = GatewayLab.Udp(_lab.Wan, 9710);
        using Socket lan = GatewayLab.Udp(_lab.Lan1, 8710);
        await lan.SendToAsync(Encoding.ASCII.GetBytes("x"), SocketFlags.None, new IPEndPoint(GatewayLab.WanHost, 9710));
        var got = await GatewayLab.ReceiveAsync(wan, TimeSpan.FromSeconds(2));
        Assert.Equal(8710, got!.Value.From.Port);
    }
}
