using System.Net;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>The admin endpoint on the LAN's global IPv6 address: the LAN reaches it, the WAN (which can route there) does not.</summary>
public class AdminReachTests : IClassFixture<AdminLan6Lab>
{
    private const string Health = "GET /healthz HTTP/1.1\r\nHost: [2001:db8:77::1]:8470\r\nConnection: close\r\n\r\n";
    private readonly AdminLan6Lab _lab;

    public AdminReachTests(AdminLan6Lab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task LanHost_GetsAnAnswer_WanHost_IsClosedUnanswered()
    {
        // The LAN host is answered (401: no token), which shows the endpoint is up and reachable over IPv6.
        string lan = await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan6, Health, port: 8470);
        Assert.Equal(401, RawHttp.Status(lan));

        // The WAN host routes to the same address and port, and gets nothing but a closed connection.
        string wan = await RawHttp.ExchangeAsync(_lab.Wan, GatewayLab.GatewayLan6, Health, port: 8470);
        Assert.Equal(string.Empty, wan);
        await _lab.Daemon!.WaitForLogAsync("refused: not loopback or a LAN host", TimeSpan.FromSeconds(3));
    }
}

/// <summary>A lab whose daemon serves the admin endpoint on the LAN's global IPv6 address.</summary>
public sealed class AdminLan6Lab : GatewayLab
{
    public AdminLan6Lab()
    {
        ConfigJson = """{ "admin": { "listen": "[2001:db8:77::1]:8470", "mdns": false } }""";
    }
}
