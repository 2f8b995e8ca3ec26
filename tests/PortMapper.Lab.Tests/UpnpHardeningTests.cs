using System.Net;
using System.Net.Sockets;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// Hostile and broken UPnP requests with a raw HTTP client: each gets its defined refusal, changes nothing,
/// and the daemon keeps serving.
/// </summary>
public class UpnpHardeningTests : IClassFixture<GatewayLab>
{
    private const string Ip1 = "urn:schemas-upnp-org:service:WANIPConnection:1";
    private const string Ip2 = "urn:schemas-upnp-org:service:WANIPConnection:2";
    private readonly GatewayLab _lab;

    public UpnpHardeningTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private static string External() => RawHttp.Soap("/ctl/IPConn1", Ip1, "GetExternalIPAddress", string.Empty);

    private Task<string> FromLan1Async(string request) => RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, request);

    [Fact]
    public async Task WellFormedRequest_IsAnswered()
    {
        string answer = await FromLan1Async(External());
        Assert.Equal(200, RawHttp.Status(answer));
        Assert.Contains("<NewExternalIPAddress>203.0.113.1</NewExternalIPAddress>", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("Access-Control", answer, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task FromTheWan_NoAnswerAtAll()
    {
        // Give the WAN host a route to the LAN, as a hostile upstream would.
        await Shell.CheckedAsync(_lab.Wan, "ip", "route", "replace", "192.168.77.0/24", "via", "203.0.113.1");
        try
        {
            Assert.Equal(string.Empty, await RawHttp.ExchangeAsync(_lab.Wan, GatewayLab.GatewayLan, External().Replace("192.168.77.1:5000", "192.168.77.1:5000", StringComparison.Ordinal)));
            Assert.Equal(string.Empty, await RawHttp.ExchangeAsync(_lab.Wan, GatewayLab.External, External()));
            Assert.Equal(200, RawHttp.Status(await FromLan1Async(External())));
        }
        finally
        {
            await Shell.InNamespaceAsync(_lab.Wan, "ip", "route", "del", "192.168.77.0/24");
        }
    }

    [Fact]
    public async Task DnsRebinding_ForeignHostHeader_Is400()
    {
        Assert.Equal(400, RawHttp.Status(await FromLan1Async(RawHttp.Soap("/ctl/IPConn1", Ip1, "GetExternalIPAddress", string.Empty, host: "attacker.example:5000"))));
        Assert.Equal(400, RawHttp.Status(await FromLan1Async(RawHttp.Soap("/ctl/IPConn1", Ip1, "GetExternalIPAddress", string.Empty, host: "192.168.77.1:80"))));
        Assert.Equal(400, RawHttp.Status(await FromLan1Async("GET /rootDesc.xml HTTP/1.1\r\nHost: rebind.example\r\nConnection: close\r\n\r\n")));
        Assert.Equal(200, RawHttp.Status(await FromLan1Async("GET /rootDesc.xml HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nConnection: close\r\n\r\n")));
    }

    [Fact]
    public async Task MissingOrInconsistentSoapAction_IsRefused()
    {
        Assert.Equal(400, RawHttp.Status(await FromLan1Async(RawHttp.Soap("/ctl/IPConn1", Ip1, "GetExternalIPAddress", string.Empty, soapAction: string.Empty))));
        string mismatch = await FromLan1Async(RawHttp.Soap("/ctl/IPConn1", Ip1, "GetExternalIPAddress", string.Empty, soapAction: Ip1 + "#DeletePortMapping"));
        Assert.Equal(500, RawHttp.Status(mismatch));
        Assert.Contains("<errorCode>401</errorCode>", mismatch, StringComparison.Ordinal);
        string wrongService = await FromLan1Async(RawHttp.Soap("/ctl/IPConn1", Ip2, "GetExternalIPAddress", string.Empty));
        Assert.Contains("<errorCode>401</errorCode>", wrongService, StringComparison.Ordinal);
        Assert.Equal(415, RawHttp.Status(await FromLan1Async(RawHttp.Soap("/ctl/IPConn1", Ip1, "GetExternalIPAddress", string.Empty, contentType: "application/x-www-form-urlencoded"))));
    }

    [Fact]
    public async Task ExternalEntity_IsRefusedAndNothingLeaks()
    {
        string body = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
            + $"<s:Body><u:GetSpecificPortMappingEntry xmlns:u=\"{Ip1}\"><NewRemoteHost>&x;</NewRemoteHost><NewExternalPort>1</NewExternalPort><NewProtocol>TCP</NewProtocol></u:GetSpecificPortMappingEntry></s:Body></s:Envelope>";
        string answer = await FromLan1Async(RawHttp.Soap("/ctl/IPConn1", Ip1, "GetSpecificPortMappingEntry", string.Empty, body: body));
        Assert.Equal(400, RawHttp.Status(answer));
        Assert.DoesNotContain("root:", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OversizedBody_Is413()
    {
        string padding = new('x', 20 * 1024);
        string answer = await FromLan1Async(RawHttp.Soap("/ctl/IPConn1", Ip1, "AddPortMapping", $"<NewPortMappingDescription>{padding}</NewPortMappingDescription>"));
        Assert.Equal(413, RawHttp.Status(answer));
        Assert.Equal(200, RawHttp.Status(await FromLan1Async(External())));
    }

    [Fact]
    public async Task AnotherHostsMappings_CannotBeDeletedByRange()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan2, 8700, "victim");
        string add = RawHttp.Soap("/ctl/IPConn2", Ip2, "AddPortMapping",
            "<NewRemoteHost></NewRemoteHost><NewExternalPort>8700</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>8700</NewInternalPort>"
            + "<NewInternalClient>192.168.77.11</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>v</NewPortMappingDescription><NewLeaseDuration>600</NewLeaseDuration>");
        Assert.Equal(200, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan2, GatewayLab.GatewayLan, add)));

        foreach (string manage in new[] { "1", "0" })
        {
            string range = await FromLan1Async(RawHttp.Soap("/ctl/IPConn2", Ip2, "DeletePortMappingRange",
                $"<NewStartPort>1</NewStartPort><NewEndPort>65535</NewEndPort><NewProtocol>TCP</NewProtocol><NewManage>{manage}</NewManage>"));
            Assert.Contains("<errorCode>606</errorCode>", range, StringComparison.Ordinal);
        }

        // And lan1 cannot point a mapping at lan2 either.
        string hijack = await FromLan1Async(add.Replace("8700</NewExternalPort>", "8701</NewExternalPort>", StringComparison.Ordinal));
        Assert.Contains("<errorCode>606</errorCode>", hijack, StringComparison.Ordinal);
        Assert.Equal("victim", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8700));
    }

    [Fact]
    public async Task CallStranger_CallbackElsewhere_Is412AndNothingIsContacted()
    {
        using TcpListener wanListener = NetNs.Run(_lab.Wan, () => { var l = new TcpListener(IPAddress.Any, 9911); l.Start(); return l; });
        using TcpListener lan2Listener = NetNs.Run(_lab.Lan2, () => { var l = new TcpListener(IPAddress.Any, 9911); l.Start(); return l; });
        foreach (string callback in new[] { "<http://203.0.113.2:9911/>", "<http://192.168.77.11:9911/>", "<http://192.168.77.10:9911/><http://203.0.113.2:9911/>" })
        {
            string subscribe = $"SUBSCRIBE /evt/IPConn1 HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nNT: upnp:event\r\nCALLBACK: {callback}\r\nTIMEOUT: Second-300\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            Assert.Equal(412, RawHttp.Status(await FromLan1Async(subscribe)));
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        Task<TcpClient> wanAccept = wanListener.AcceptTcpClientAsync(wait.Token).AsTask();
        Task<TcpClient> lanAccept = lan2Listener.AcceptTcpClientAsync(wait.Token).AsTask();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wanAccept);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lanAccept);
    }

    [Fact]
    public async Task Garbage_OnTheHttpPort_LeavesTheDaemonServing()
    {
        var random = new Random(4);
        for (int i = 0; i < 20; i++)
        {
            byte[] junk = new byte[random.Next(1, 3000)];
            random.NextBytes(junk);
            await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, System.Text.Encoding.Latin1.GetString(junk), TimeSpan.FromMilliseconds(500));
        }

        Assert.Equal(405, RawHttp.Status(await FromLan1Async("DELETE /rootDesc.xml HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nConnection: close\r\n\r\n")));
        Assert.Equal(404, RawHttp.Status(await FromLan1Async("GET /../../etc/passwd HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nConnection: close\r\n\r\n")));
        Assert.Equal(200, RawHttp.Status(await FromLan1Async(External())));
        Assert.True(_lab.Daemon!.IsRunning);
    }
}
