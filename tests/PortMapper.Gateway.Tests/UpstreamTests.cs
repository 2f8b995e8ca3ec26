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

public class UpnpUpstreamClientTests
{
    private static readonly Uri s_location = new("http://100.64.0.1:5000/rootDesc.xml");

    [Fact]
    public void Description_WanIpConnectionFound_RelativeUrlResolved_Version2First()
    {
        string description = """
            <?xml version="1.0"?>
            <root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceList><device><deviceList><device><serviceList>
              <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><serviceId>a</serviceId><controlURL>/ctl/IPConn</controlURL></service>
              <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>/ctl/IPConn2</controlURL></service>
            </serviceList></device></deviceList></device></deviceList></device></root>
            """;
        var found = UpnpUpstreamClient.FindService(description, s_location);
        Assert.Equal(("urn:schemas-upnp-org:service:WANIPConnection:2", new Uri("http://100.64.0.1:5000/ctl/IPConn2")), found);

        string withBase = """
            <root><URLBase>http://100.64.0.1:49000/</URLBase><device><serviceList><service>
              <serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>upnp/control/ppp</controlURL>
            </service></serviceList></device></root>
            """;
        Assert.Equal(new Uri("http://100.64.0.1:49000/upnp/control/ppp"), UpnpUpstreamClient.FindService(withBase, s_location)?.Control);
        Assert.Null(UpnpUpstreamClient.FindService("<root><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/x</controlURL></root>", s_location));
    }

    [Fact]
    public void Description_WithADtd_IsRefused()
    {
        string entityBomb = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><root>&a;</root>""";
        Assert.Throws<System.Xml.XmlException>(() => UpnpUpstreamClient.FindService(entityBomb, s_location));
    }

    [Fact]
    public void SoapAnswers_ValuesAndFaults()
    {
        var ok = UpnpUpstreamClient.SoapAnswer.Read("""
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewExternalIPAddress>203.0.113.1</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>
            """, "GetExternalIPAddress", 200);
        Assert.Equal((true, (int?)null, "203.0.113.1"), (ok.Answered, ok.Fault, ok.Get("NewExternalIPAddress")));

        var entry = UpnpUpstreamClient.SoapAnswer.Read("""
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:GetSpecificPortMappingEntryResponse xmlns:u="x"><NewInternalPort>8080</NewInternalPort><NewInternalClient>100.64.0.2</NewInternalClient><NewEnabled>1</NewEnabled></u:GetSpecificPortMappingEntryResponse></s:Body></s:Envelope>
            """, "GetSpecificPortMappingEntry", 200);
        Assert.Equal(("8080", "100.64.0.2", "1"), (entry.Get("NewInternalPort"), entry.Get("NewInternalClient"), entry.Get("NewEnabled")));

        var fault = UpnpUpstreamClient.SoapAnswer.Read("""
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>
            """, "AddPortMapping", 500);
        Assert.Equal(718, fault.Fault);

        // Neither the action's response nor a fault: an HTTP error, never a success.
        Assert.Equal(404, UpnpUpstreamClient.SoapAnswer.Read("<html/>", "AddPortMapping", 404).Fault);
        Assert.NotNull(UpnpUpstreamClient.SoapAnswer.Read("<x/>", "AddPortMapping", 200).Fault);
    }
}
