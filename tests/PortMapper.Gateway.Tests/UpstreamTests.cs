using System.Net;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Upstream;

namespace PortMapper.Gateway.Tests;

public class UpstreamTests
{
    private static readonly DateTimeOffset s_t0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Epoch_GoingOnWithTheClock_IsKept()
    {
        Assert.Null(UpstreamService.EpochLost(1000, s_t0, 1060, s_t0.AddSeconds(60)));
        Assert.Null(UpstreamService.EpochLost(1000, s_t0, 1061, s_t0.AddSeconds(60))); // within 1/16 + 2 s
        Assert.Null(UpstreamService.EpochLost(1000, s_t0, 999, s_t0.AddSeconds(0.5))); // one second of rounding
    }

    [Theory]
    [InlineData(1000u, 3u, 60)] // went back: the server restarted
    [InlineData(1000u, 1000u, 600)] // stood still for ten minutes
    [InlineData(1000u, 5000u, 60)] // ran far ahead of the clock
    public void Epoch_Anomalies_MeanLostState(uint last, uint now, int seconds) =>
        Assert.NotNull(UpstreamService.EpochLost(last, s_t0, now, s_t0.AddSeconds(seconds)));

    [Fact]
    public void DefaultGateway_ReadFromTheRoutingTable_ForTheWanOnly()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        string routes = Path.Combine(dir.Path, "route");
        File.WriteAllText(routes,
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
            "br-lan\t004DA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
            "eth9\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
            "wan0\t00004064\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
            "wan0\t00000000\t01004064\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        Assert.Equal(IPAddress.Parse("100.64.0.1"), UpstreamService.DefaultGateway("wan0", routes));
        Assert.Equal(IPAddress.Parse("192.168.1.1"), UpstreamService.DefaultGateway("eth9", routes));
        Assert.Null(UpstreamService.DefaultGateway("br-lan", routes));
        Assert.Null(UpstreamService.DefaultGateway("wan0", Path.Combine(dir.Path, "missing")));
    }

    [Fact]
    public void Settings_ModeServerRequiredTimeout_AndMistakesNamed()
    {
        var errors = new List<string>();
        GatewaySettings s = ConfigFile.Read("""
            { "upstream": { "mode": "natpmp", "server": "100.64.0.1", "required": false, "timeout": 2000 } }
            """, new GatewaySettings(), errors);
        Assert.Empty(errors);
        Assert.Equal((UpstreamMode.NatPmp, IPAddress.Parse("100.64.0.1"), false, 2000), (s.UpstreamMode, s.UpstreamServer, s.UpstreamRequired, s.UpstreamTimeoutMilliseconds));
        Assert.Equal((UpstreamMode.Auto, (IPAddress?)null, true), (new GatewaySettings().UpstreamMode, new GatewaySettings().UpstreamServer, new GatewaySettings().UpstreamRequired));

        ConfigFile.Read("""{ "upstream": { "mode": "upnp2", "server": "2001:db8::1", "timeout": 10 } }""", new GatewaySettings(), errors);
        Assert.Equal(3, errors.Count);
        Assert.StartsWith("upstream.mode: 'upnp2' is not", errors[0], StringComparison.Ordinal);
        Assert.Equal("upstream.server: '2001:db8::1' is not an IPv4 address", errors[1]);
        Assert.StartsWith("upstream.timeout", errors[2], StringComparison.Ordinal);
    }
}
