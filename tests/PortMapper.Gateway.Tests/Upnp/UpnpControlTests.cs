using System.Net;
using System.Text.RegularExpressions;
using PortMapper.Gateway.Configuration;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;
using static PortMapper.Gateway.Tests.Upnp.UpnpControlFixture;

namespace PortMapper.Gateway.Tests.Upnp;

/// <summary>
/// Golden request/response pairs for every action, and a case for every error code the actions can give.
/// Requests go through the SOAP reader and answers through the SOAP writer, as on the wire.
/// </summary>
public sealed partial class UpnpControlTests
{
    private static readonly ServiceDefinition s_ip1 = ServiceDefinition.WanIPConnection1;
    private static readonly ServiceDefinition s_ip2 = ServiceDefinition.WanIPConnection2;
    private static readonly ServiceDefinition s_fw = ServiceDefinition.WanIPv6FirewallControl1;

    private const string Head = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>";
    private const string Tail = "</s:Body></s:Envelope>\r\n";

    private static (string, string)[] Add(string external = "8080", string protocol = "TCP", string internalPort = "8080", string client = "192.168.77.10",
        string lease = "3600", string remote = "", string description = "game", string enabled = "1") =>
    [
        ("NewRemoteHost", remote), ("NewExternalPort", external), ("NewProtocol", protocol), ("NewInternalPort", internalPort),
        ("NewInternalClient", client), ("NewEnabled", enabled), ("NewPortMappingDescription", description), ("NewLeaseDuration", lease),
    ];

    private static (string, string)[] Key(string external = "8080", string protocol = "TCP", string remote = "") =>
        [("NewRemoteHost", remote), ("NewExternalPort", external), ("NewProtocol", protocol)];

    private static (string, string)[] Range(string start, string end, string protocol = "TCP", string manage = "0") =>
        [("NewStartPort", start), ("NewEndPort", end), ("NewProtocol", protocol), ("NewManage", manage)];

    private static string Ok(ServiceDefinition service, string action, string outputs = "") =>
        $"{Head}<u:{action}Response xmlns:u=\"{service.ServiceType}\">{outputs}</u:{action}Response>{Tail}";

    private static string ErrorCode(string response) => ErrorCodePattern().Match(response) is { Success: true } m ? m.Groups[1].Value : "ok";

    [GeneratedRegex("<errorCode>(\\d+)</errorCode>")]
    private static partial Regex ErrorCodePattern();

    [Fact]
    public async Task GetExternalIPAddress_IsTheGoldenResponse()
    {
        await using var f = await StartAsync();
        Assert.Equal(Ok(s_ip1, "GetExternalIPAddress", "<NewExternalIPAddress>203.0.113.1</NewExternalIPAddress>"),
            await f.CallAsync(s_ip1, "GetExternalIPAddress", Host));
    }

    [Fact]
    public async Task ConnectionQueries_AreTheGoldenResponses()
    {
        await using var f = await StartAsync();
        f.Time.Advance(TimeSpan.FromSeconds(42));
        Assert.Equal(Ok(s_ip1, "GetStatusInfo", "<NewConnectionStatus>Connected</NewConnectionStatus><NewLastConnectionError>ERROR_NONE</NewLastConnectionError><NewUptime>42</NewUptime>"),
            await f.CallAsync(s_ip1, "GetStatusInfo", Host));
        Assert.Equal(Ok(s_ip1, "GetConnectionTypeInfo", "<NewConnectionType>IP_Routed</NewConnectionType><NewPossibleConnectionTypes>IP_Routed</NewPossibleConnectionTypes>"),
            await f.CallAsync(s_ip1, "GetConnectionTypeInfo", Host));
        Assert.Equal(Ok(s_ip1, "GetNATRSIPStatus", "<NewRSIPAvailable>0</NewRSIPAvailable><NewNATEnabled>1</NewNATEnabled>"),
            await f.CallAsync(s_ip1, "GetNATRSIPStatus", Host));
        Assert.Equal(Ok(s_ip1, "SetConnectionType"), await f.CallAsync(s_ip1, "SetConnectionType", Host, ("NewConnectionType", "IP_Routed")));
        Assert.Equal(Ok(s_ip1, "RequestConnection"), await f.CallAsync(s_ip1, "RequestConnection", Host));
    }

    [Fact]
    public async Task ConnectionChanges_AreRefusedWithTheSpecErrors()
    {
        await using var f = await StartAsync();
        Assert.Equal("703", ErrorCode(await f.CallAsync(s_ip1, "SetConnectionType", Host, ("NewConnectionType", "IP_Bridged"))));
        Assert.Equal("402", ErrorCode(await f.CallAsync(s_ip1, "SetConnectionType", Host, ("NewConnectionType", "PPPoE"))));
        Assert.Equal("606", ErrorCode(await f.CallAsync(s_ip1, "ForceTermination", Host)));
    }

    [Fact]
    public async Task AddPortMapping_ThenQueries_AreTheGoldenResponses()
    {
        await using var f = await StartAsync();
        Assert.Equal(Ok(s_ip1, "AddPortMapping"), await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(description: "web & co")));
        Assert.NotNull(f.Kernel.Find(KernelBackend.TransportProtocol.Tcp, 8080));

        Assert.Equal(
            Ok(s_ip1, "GetSpecificPortMappingEntry", "<NewInternalPort>8080</NewInternalPort><NewInternalClient>192.168.77.10</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>web &amp; co</NewPortMappingDescription><NewLeaseDuration>3600</NewLeaseDuration>"),
            await f.CallAsync(s_ip1, "GetSpecificPortMappingEntry", Host, Key()));
        Assert.Equal(
            Ok(s_ip1, "GetGenericPortMappingEntry", "<NewRemoteHost></NewRemoteHost><NewExternalPort>8080</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>8080</NewInternalPort><NewInternalClient>192.168.77.10</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>web &amp; co</NewPortMappingDescription><NewLeaseDuration>3600</NewLeaseDuration>"),
            await f.CallAsync(s_ip1, "GetGenericPortMappingEntry", Host, ("NewPortMappingIndex", "0")));
        Assert.Equal("713", ErrorCode(await f.CallAsync(s_ip1, "GetGenericPortMappingEntry", Host, ("NewPortMappingIndex", "1"))));

        Assert.Equal(Ok(s_ip1, "DeletePortMapping"), await f.CallAsync(s_ip1, "DeletePortMapping", Host, Key()));
        Assert.Null(f.Kernel.Find(KernelBackend.TransportProtocol.Tcp, 8080));
        Assert.Equal("714", ErrorCode(await f.CallAsync(s_ip1, "DeletePortMapping", Host, Key())));
        Assert.Equal("714", ErrorCode(await f.CallAsync(s_ip1, "GetSpecificPortMappingEntry", Host, Key())));
    }

    [Theory]
    [InlineData("NewExternalPort", "")]
    [InlineData("NewExternalPort", "65536")]
    [InlineData("NewExternalPort", "eighty")]
    [InlineData("NewInternalPort", "-1")]
    [InlineData("NewProtocol", "ICMP")]
    [InlineData("NewProtocol", "")]
    [InlineData("NewInternalClient", "")]
    [InlineData("NewInternalClient", "gateway.lan")]
    [InlineData("NewInternalClient", "127.0.0.1")]
    [InlineData("NewInternalClient", "224.0.0.1")]
    [InlineData("NewInternalClient", "255.255.255.255")]
    [InlineData("NewInternalClient", "0.0.0.0")]
    [InlineData("NewLeaseDuration", "-5")]
    [InlineData("NewLeaseDuration", "forever")]
    [InlineData("NewEnabled", "maybe")]
    [InlineData("NewRemoteHost", "peer.example")]
    public async Task AddPortMapping_BadArgument_Is402AndChangesNothing(string name, string value)
    {
        await using var f = await StartAsync();
        (string, string)[] arguments = [.. Add().Select(a => a.Item1 == name ? (name, value) : a)];
        Assert.Equal("402", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, arguments)));
        Assert.Empty(f.Engine.Leases());
    }

    [Fact]
    public async Task AddPortMapping_MissingArgument_Is402()
    {
        await using var f = await StartAsync();
        Assert.Equal("402", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, [.. Add().Where(a => a.Item1 != "NewLeaseDuration")])));
    }

    [Fact]
    public async Task UnknownAction_Is401()
    {
        await using var f = await StartAsync();
        Assert.Equal("401", ErrorCode(await f.CallAsync(s_ip1, "AddAnyPortMapping", Host, Add()))); // a v2 action on the v1 service
        Assert.Equal("401", ErrorCode(await f.CallAsync(s_ip1, "FormatDisk", Host)));
    }

    [Fact]
    public async Task AddPortMapping_SpecErrors()
    {
        await using var f = await StartAsync();
        Assert.Equal("716", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "0"))));
        Assert.Equal("402", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(internalPort: "0"))));
        Assert.Equal("732", ErrorCode(await f.CallAsync(s_ip2, "AddPortMapping", Host, Add(internalPort: "0"))));

        // Secure mode: another host as the internal client, or the gateway itself.
        Assert.Equal("606", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(client: "192.168.77.11"))));
        Assert.Equal("606", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(client: "192.168.77.1"))));
        Assert.Equal("606", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(client: "10.9.9.9"))));

        // Policy: ports below 1024 are not permitted by default. The daemon's own ports conflict with it.
        Assert.Equal("606", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "80"))));
        Assert.Equal("729", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "5351", protocol: "UDP"))));

        // Taken by another host: 718; by the same host through NAT-PMP: 729.
        Assert.Equal("ok", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", OtherHost, Add(client: "192.168.77.11"))));
        Assert.Equal("718", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add())));
        await f.Engine.RunAsync(new MappingCommand(MappingCommandKind.Map, MappingProtocol.Udp, MappingOrigin.NatPmp, Host, Host, 9000, 9000, 600, "NAT-PMP"), CancellationToken.None);
        Assert.Equal("729", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "9000", protocol: "udp", internalPort: "9000"))));
        Assert.Equal(2, f.Engine.Leases().Count);
    }

    [Fact]
    public async Task AddPortMapping_Quota_Is728()
    {
        await using var f = await StartAsync(new GatewaySettings { MaxLeasesPerClient = 2 });
        Assert.Equal("ok", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "8080"))));
        Assert.Equal("ok", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "8081"))));
        Assert.Equal("728", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "8082"))));
        Assert.Equal("728", ErrorCode(await f.CallAsync(s_ip2, "AddAnyPortMapping", Host, Add(external: "8083"))));
    }

    [Fact]
    public async Task AddPortMapping_SameHostAgain_UpdatesInPlaceAndMovesTheInternalPort()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(description: "first"));
        Assert.Equal("ok", ErrorCode(await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(internalPort: "9090", description: "second", lease: "60"))));
        var lease = Assert.Single(f.Engine.Leases());
        Assert.Equal((ushort)9090, lease.InternalPort);
        Assert.Equal("second", lease.Description);
        Assert.Equal((ushort)9090, f.Kernel.Find(KernelBackend.TransportProtocol.Tcp, 8080)!.Value.InternalPort);
    }

    [Fact]
    public async Task AddPortMapping_TwoExternalPortsToOneInternal_AreTwoMappings()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "8080", internalPort: "8080"));
        await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "8081", internalPort: "8080"));
        Assert.Equal(2, f.Engine.Leases().Count);
    }

    [Fact]
    public async Task LeaseDuration_ZeroIsPermanentOnIgd1AndAWeekOnIgd2()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(external: "8080", lease: "0"));
        await f.CallAsync(s_ip2, "AddPortMapping", Host, Add(external: "8081", lease: "0"));
        await f.CallAsync(s_ip2, "AddPortMapping", Host, Add(external: "8082", lease: "9999999"));
        Assert.Contains("<NewLeaseDuration>0</NewLeaseDuration>", await f.CallAsync(s_ip1, "GetSpecificPortMappingEntry", Host, Key("8080")), StringComparison.Ordinal);
        Assert.Contains("<NewLeaseDuration>604800</NewLeaseDuration>", await f.CallAsync(s_ip2, "GetSpecificPortMappingEntry", Host, Key("8081")), StringComparison.Ordinal);
        Assert.Contains("<NewLeaseDuration>604800</NewLeaseDuration>", await f.CallAsync(s_ip2, "GetSpecificPortMappingEntry", Host, Key("8082")), StringComparison.Ordinal);
        Assert.Null(f.Kernel.Find(KernelBackend.TransportProtocol.Tcp, 8080)!.Value.Timeout);
    }

    [Fact]
    public async Task RemoteHost_LimitsTheMappingAndIsReported()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(remote: "203.0.113.2"));
        var mapping = f.Kernel.Find(KernelBackend.TransportProtocol.Tcp, 8080)!.Value;
        Assert.Equal("203.0.113.2/32", Assert.Single(mapping.FilterList).Network.ToString());
        Assert.Contains("<NewRemoteHost>203.0.113.2</NewRemoteHost>", await f.CallAsync(s_ip1, "GetGenericPortMappingEntry", Host, ("NewPortMappingIndex", "0")), StringComparison.Ordinal);
        Assert.Equal("714", ErrorCode(await f.CallAsync(s_ip1, "GetSpecificPortMappingEntry", Host, Key(remote: "203.0.113.3"))));
    }

    [Fact]
    public async Task Description_IsSanitizedBeforeItIsStored()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip1, "AddPortMapping", Host, Add(description: "evil\r\nInjected: line\t\u200F" + new string('x', 300)));
        string stored = Assert.Single(f.Engine.Leases()).Description;
        Assert.StartsWith("evil Injected: line", stored, StringComparison.Ordinal);
        Assert.Equal(UpnpArguments.MaxDescriptionLength, stored.Length);
    }

    [Fact]
    public async Task DeletePortMapping_AnotherHostsEntry_Is606AndKeepsIt()
    {
        await using var f = await StartAsync();
        await f.CallAsync(s_ip1, "AddPortMapping", OtherHost, Add(client: "192.168.77.11"));
        Assert.Equal("606", ErrorCode(await f.CallAsync(s_ip1, "DeletePortMapping", Host, Key())));
        Assert.Single(f.Engine.Leases());
        Assert.Equal("402", ErrorCode(await f.CallAsync(s_ip1, "DeletePortMapping", Host, Key(protocol: "GRE"))));
    }
}
