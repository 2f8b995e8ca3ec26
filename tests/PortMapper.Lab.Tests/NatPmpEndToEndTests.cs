using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>Debian's natpmpc against the real daemon; each mapping proven from the WAN namespace.</summary>
public class NatPmpEndToEndTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public NatPmpEndToEndTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task MapTcp_WanHostReachesLanService_DeleteClosesIt()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8080, "lan1-tcp");
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8080));

        NatPmpcResult map = await _lab.NatPmpcAsync(_lab.Lan1, 8080, 8080, "tcp", 3600);
        Assert.Equal(8080, map.PublicPort);
        Assert.Equal(3600, map.Lifetime);
        Assert.Equal("lan1-tcp", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8080));
        Assert.Contains("tcp . 8080", await _lab.KernelTableAsync(), StringComparison.Ordinal);

        NatPmpcResult delete = await _lab.NatPmpcAsync(_lab.Lan1, 8080, 8080, "tcp", 0);
        Assert.Equal(0, delete.Process.ExitCode);
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8080));
        Assert.DoesNotContain("tcp . 8080", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapUdp_WanDatagramReachesLanHostAndReplyReturns()
    {
        NatPmpcResult map = await _lab.NatPmpcAsync(_lab.Lan1, 9100, 9000, "udp", 600);
        Assert.Equal(9100, map.PublicPort);

        using Socket lanSide = GatewayLab.Udp(_lab.Lan1, 9000);
        using Socket wanSide = GatewayLab.Udp(_lab.Wan);
        await wanSide.SendToAsync(Encoding.ASCII.GetBytes("ping"), SocketFlags.None, new IPEndPoint(GatewayLab.External, 9100));
        var got = await GatewayLab.ReceiveAsync(lanSide, TimeSpan.FromSeconds(2));
        Assert.NotNull(got);
        Assert.Equal("ping", Encoding.ASCII.GetString(got.Value.Data));

        await lanSide.SendToAsync(Encoding.ASCII.GetBytes("pong"), SocketFlags.None, got.Value.From);
        var back = await GatewayLab.ReceiveAsync(wanSide, TimeSpan.FromSeconds(2));
        Assert.NotNull(back);
        Assert.Equal(new IPEndPoint(GatewayLab.External, 9100), back.Value.From);
    }

    [Fact]
    public async Task SecondLanHostAskingForTheSamePort_GetsAnotherOne_BothReachable()
    {
        using TcpListener one = GatewayLab.ServeTcp(_lab.Lan1, 7000, "from-lan1");
        using TcpListener two = GatewayLab.ServeTcp(_lab.Lan2, 7000, "from-lan2");
        NatPmpcResult first = await _lab.NatPmpcAsync(_lab.Lan1, 7000, 7000, "tcp", 600);
        NatPmpcResult second = await _lab.NatPmpcAsync(_lab.Lan2, 7000, 7000, "tcp", 600);

        Assert.Equal(7000, first.PublicPort);
        Assert.NotNull(second.PublicPort);
        Assert.NotEqual(7000, second.PublicPort);
        Assert.Equal("from-lan1", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 7000));
        Assert.Equal("from-lan2", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, second.PublicPort!.Value));
    }

    [Fact]
    public async Task ShortLifetime_ExpiryClosesTheMappingInTheKernel()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan2, 7500, "short-lived");
        NatPmpcResult map = await _lab.NatPmpcAsync(_lab.Lan2, 7500, 7500, "tcp", 2);
        Assert.Equal(2, map.Lifetime);
        Assert.Equal("short-lived", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 7500));

        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 7500));
        await _lab.Daemon!.WaitForLogAsync("7500 -> 192.168.77.11:7500 expired", TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task DirectRoutedWanTraffic_ToUnmappedLanPort_IsDropped()
    {
        // A WAN host that routes the LAN prefix through the gateway still gets nothing unmapped (standalone mode).
        await Shell.InNamespaceAsync(_lab.Wan, "ip", "route", "replace", "192.168.77.0/24", "via", "203.0.113.1");
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 7600, "should-not-see");
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan1Address, 7600, TimeSpan.FromSeconds(1)));
    }
}
