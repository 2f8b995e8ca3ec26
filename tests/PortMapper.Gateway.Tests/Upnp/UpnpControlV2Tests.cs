using PortMapper.Gateway.Configuration;
using PortMapper.Protocols.Upnp;
using static PortMapper.Gateway.Tests.Upnp.UpnpControlFixture;

namespace PortMapper.Gateway.Tests.Upnp;

/// <summary>IGD:2 actions, WANCommonInterfaceConfig, Layer3Forwarding and the IPv6 firewall.</summary>
public sealed partial class UpnpControlTests
{
    [Fact]
    public async Task AddAnyPortMapping_TakenPort_ReservesAnother()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip2, "AddPortMapping", OtherHost, Add(client: "192.168.77.11"));
        Assert.Equal(Ok(s_ip2, "AddAnyPortMapping", "<NewReservedPort>8081</NewReservedPort>"), await f.CallAsync(s_ip2, "AddAnyPortMapping", Host, Add()));
        Assert.Equal(Ok(s_ip2, "AddAnyPortMapping", "<NewReservedPort>20000</NewReservedPort>"), await f.CallAsync(s_ip2, "AddAnyPortMapping", Host, Add(external: "0", internalPort: "20000")));
        Assert.Equal("732", ErrorCode(await f.CallAsync(s_ip2, "AddAnyPortMapping", Host, Add(internalPort: "0"))));
    }

    [Fact]
    public async Task GetListOfPortMappings_IsAnEscapedDocument()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip2, "AddPortMapping", Host, Add(external: "8080", description: "a<b"));
        await f.CallAsync(s_ip2, "AddPortMapping", OtherHost, Add(external: "8081", client: "192.168.77.11"));
        string own = await f.CallAsync(s_ip2, "GetListOfPortMappings", Host, [.. Range("1", "65535"), ("NewNumberOfPorts", "0")]);
        Assert.StartsWith($"{Head}<u:GetListOfPortMappingsResponse xmlns:u=\"{s_ip2.ServiceType}\"><NewPortListing>&lt;?xml version=&quot;1.0&quot; encoding=&quot;UTF-8&quot;?&gt;&lt;p:PortMappingList", own, StringComparison.Ordinal);
        Assert.Contains("&lt;p:NewExternalPort&gt;8080&lt;/p:NewExternalPort&gt;", own, StringComparison.Ordinal);
        Assert.Contains("&lt;p:NewDescription&gt;a&amp;lt;b&lt;/p:NewDescription&gt;", own, StringComparison.Ordinal);
        Assert.DoesNotContain("8081", own, StringComparison.Ordinal);

        string all = await f.CallAsync(s_ip2, "GetListOfPortMappings", Host, [.. Range("1", "65535", manage: "1"), ("NewNumberOfPorts", "0")]);
        Assert.Contains("8081", all, StringComparison.Ordinal);
        string one = await f.CallAsync(s_ip2, "GetListOfPortMappings", Host, [.. Range("1", "65535", manage: "1"), ("NewNumberOfPorts", "1")]);
        Assert.DoesNotContain("8081", one, StringComparison.Ordinal);

        Assert.Equal("730", ErrorCode(await f.CallAsync(s_ip2, "GetListOfPortMappings", Host, [.. Range("9000", "9999"), ("NewNumberOfPorts", "0")])));
        Assert.Equal("733", ErrorCode(await f.CallAsync(s_ip2, "GetListOfPortMappings", Host, [.. Range("9999", "9000"), ("NewNumberOfPorts", "0")])));
        Assert.Equal("402", ErrorCode(await f.CallAsync(s_ip2, "GetListOfPortMappings", Host, [.. Range("1", "x"), ("NewNumberOfPorts", "0")])));
    }

    [Fact]
    public async Task DeletePortMappingRange_OwnOnly_AnotherHostsIs606()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip2, "AddPortMapping", Host, Add(external: "8080"));
        await f.CallAsync(s_ip2, "AddPortMapping", Host, Add(external: "8081"));
        await f.CallAsync(s_ip2, "AddPortMapping", OtherHost, Add(external: "8082", client: "192.168.77.11"));

        Assert.Equal("606", ErrorCode(await f.CallAsync(s_ip2, "DeletePortMappingRange", Host, Range("8080", "8090", manage: "1"))));
        Assert.Equal(3, f.Engine.Leases().Count);
        Assert.Equal("606", ErrorCode(await f.CallAsync(s_ip2, "DeletePortMappingRange", Host, Range("8082", "8082"))));
        Assert.Equal("733", ErrorCode(await f.CallAsync(s_ip2, "DeletePortMappingRange", Host, Range("8090", "8080"))));
        Assert.Equal("730", ErrorCode(await f.CallAsync(s_ip2, "DeletePortMappingRange", Host, Range("9000", "9100"))));

        Assert.Equal(Ok(s_ip2, "DeletePortMappingRange"), await f.CallAsync(s_ip2, "DeletePortMappingRange", Host, Range("8080", "8090")));
        Assert.Equal(OtherHost, Assert.Single(f.Engine.Leases()).Client);
    }

    [Fact]
    public async Task DeletePortMappingRange_Manage_WithoutSecureMode_DeletesAll()
    {
        await using var f = await StartAsync(new GatewaySettings { SecureMode = false });
        await f.CallAsync(s_ip2, "AddPortMapping", Host, Add(external: "8080"));
        await f.CallAsync(s_ip2, "AddPortMapping", OtherHost, Add(external: "8082", client: "192.168.77.11"));
        Assert.Equal("ok", ErrorCode(await f.CallAsync(s_ip2, "DeletePortMappingRange", Host, Range("8080", "8090", manage: "1"))));
        Assert.Empty(f.Engine.Leases());
    }

    [Fact]
    public async Task Layer3Forwarding_NamesTheWanIPConnection()
    {
        await using var f = await StartAsync();
        var l3 = ServiceDefinition.Layer3Forwarding1;
        string answer = await f.CallAsync(l3, "GetDefaultConnectionService", Host);
        Assert.Matches("<NewDefaultConnectionService>uuid:[0-9a-f-]{36}:WANConnectionDevice:1,urn:upnp-org:serviceId:WANIPConn1</NewDefaultConnectionService>", answer);
        string value = System.Text.RegularExpressions.Regex.Match(answer, "<NewDefaultConnectionService>(.*)</NewDefaultConnectionService>").Groups[1].Value;
        Assert.Equal(Ok(l3, "SetDefaultConnectionService"), await f.CallAsync(l3, "SetDefaultConnectionService", Host, ("NewDefaultConnectionService", value)));
        Assert.Equal("723", ErrorCode(await f.CallAsync(l3, "SetDefaultConnectionService", Host, ("NewDefaultConnectionService", "uuid:x:WANConnectionDevice:1,y"))));
        Assert.Equal("402", ErrorCode(await f.CallAsync(l3, "SetDefaultConnectionService", Host, ("NewDefaultConnectionService", ""))));
    }

    [Fact]
    public async Task CommonInterfaceConfig_AnswersEveryAction()
    {
        await using var f = await StartAsync();
        var ifc = ServiceDefinition.WanCommonInterfaceConfig1;
        Assert.Matches("<NewWANAccessType>Ethernet</NewWANAccessType><NewLayer1UpstreamMaxBitRate>\\d+</NewLayer1UpstreamMaxBitRate><NewLayer1DownstreamMaxBitRate>\\d+</NewLayer1DownstreamMaxBitRate><NewPhysicalLinkStatus>(Up|Down)</NewPhysicalLinkStatus>",
            await f.CallAsync(ifc, "GetCommonLinkProperties", Host));
        foreach (string counter in new[] { "BytesSent", "BytesReceived", "PacketsSent", "PacketsReceived" })
        {
            Assert.Matches($"<NewTotal{counter}>\\d+</NewTotal{counter}>", await f.CallAsync(ifc, "GetTotal" + counter, Host));
        }
    }
}
