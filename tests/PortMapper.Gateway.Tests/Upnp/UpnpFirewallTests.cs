using PortMapper.Gateway.Configuration;
using PortMapper.Protocols.Upnp;
using static PortMapper.Gateway.Tests.Upnp.UpnpControlFixture;

namespace PortMapper.Gateway.Tests.Upnp;

public sealed partial class UpnpControlTests
{
    private static (string, string)[] Pinhole(string client = "2001:db8:77::10", string port = "7000", string protocol = "6", string lease = "600",
        string remote = "", string remotePort = "0") =>
        [("RemoteHost", remote), ("RemotePort", remotePort), ("InternalClient", client), ("InternalPort", port), ("Protocol", protocol), ("LeaseTime", lease)];

    [Fact]
    public async Task Pinhole_Lifecycle_IsTheGoldenExchange()
    {
        await using var f = await StartAsync();
        Assert.Equal(Ok(s_fw, "GetFirewallStatus", "<FirewallEnabled>1</FirewallEnabled><InboundPinholeAllowed>1</InboundPinholeAllowed>"), await f.CallAsync(s_fw, "GetFirewallStatus", Host6));

        string added = await f.CallAsync(s_fw, "AddPinhole", Host6, Pinhole());
        string id = System.Text.RegularExpressions.Regex.Match(added, "<UniqueID>(\\d+)</UniqueID>").Groups[1].Value;
        Assert.Equal(Ok(s_fw, "AddPinhole", $"<UniqueID>{id}</UniqueID>"), added);
        Assert.Contains(f.Kernel.Entries, m => m.IsPinhole && m.InternalPort == 7000);

        Assert.Equal(Ok(s_fw, "GetPinholePackets", "<PinholePackets>0</PinholePackets>"), await f.CallAsync(s_fw, "GetPinholePackets", Host6, ("UniqueID", id)));
        Assert.Equal("709", ErrorCode(await f.CallAsync(s_fw, "CheckPinholeWorking", Host6, ("UniqueID", id))));
        f.Kernel.SimulatedPackets = 3;
        Assert.Equal(Ok(s_fw, "CheckPinholeWorking", "<IsWorking>1</IsWorking>"), await f.CallAsync(s_fw, "CheckPinholeWorking", Host6, ("UniqueID", id)));

        Assert.Equal(Ok(s_fw, "UpdatePinhole"), await f.CallAsync(s_fw, "UpdatePinhole", Host6, ("UniqueID", id), ("NewLeaseTime", "1200")));
        Assert.Equal(TimeSpan.FromSeconds(1200), Assert.Single(f.Kernel.Entries).Timeout);
        Assert.Equal("402", ErrorCode(await f.CallAsync(s_fw, "UpdatePinhole", Host6, ("UniqueID", id), ("NewLeaseTime", "0"))));

        Assert.Equal("606", ErrorCode(await f.CallAsync(s_fw, "DeletePinhole", IPAddressOf("2001:db8:77::11"), ("UniqueID", id))));
        Assert.Equal(Ok(s_fw, "DeletePinhole"), await f.CallAsync(s_fw, "DeletePinhole", Host6, ("UniqueID", id)));
        Assert.Empty(f.Kernel.Entries);
        Assert.Equal("704", ErrorCode(await f.CallAsync(s_fw, "DeletePinhole", Host6, ("UniqueID", id))));
        Assert.Equal("704", ErrorCode(await f.CallAsync(s_fw, "GetPinholePackets", Host6, ("UniqueID", id))));
    }

    [Theory]
    [InlineData("InternalPort", "0", "706")]
    [InlineData("Protocol", "65535", "707")]
    [InlineData("Protocol", "1", "705")]
    [InlineData("InternalClient", "", "708")]
    [InlineData("InternalClient", "2001:db8:77::11", "606")]
    [InlineData("InternalClient", "2001:db8:99::10", "606")]
    [InlineData("InternalClient", "192.168.77.10", "402")]
    [InlineData("InternalClient", "host.lan", "402")]
    [InlineData("LeaseTime", "0", "402")]
    [InlineData("LeaseTime", "86401", "402")]
    [InlineData("RemoteHost", "203.0.113.2", "402")]
    [InlineData("RemotePort", "70000", "402")]
    public async Task AddPinhole_Errors(string name, string value, string code)
    {
        await using var f = await StartAsync();
        (string, string)[] arguments = [.. Pinhole().Select(a => a.Item1 == name ? (name, value) : a)];
        Assert.Equal(code, ErrorCode(await f.CallAsync(s_fw, "AddPinhole", Host6, arguments)));
        Assert.Empty(f.Engine.Leases());
    }

    [Fact]
    public async Task AddPinhole_Disallowed_Is703()
    {
        await using var f = await StartAsync(new GatewaySettings { UpnpPinholes = false });
        Assert.Equal("703", ErrorCode(await f.CallAsync(s_fw, "AddPinhole", Host6, Pinhole())));
        Assert.Contains("<InboundPinholeAllowed>0</InboundPinholeAllowed>", await f.CallAsync(s_fw, "GetFirewallStatus", Host6), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddPinhole_RemoteHostAndPort_BecomeAFilter()
    {
        await using var f = await StartAsync();
        Assert.Equal("ok", ErrorCode(await f.CallAsync(s_fw, "AddPinhole", Host6, Pinhole(remote: "2001:db8:ffff::2", remotePort: "4000", protocol: "17"))));
        var filter = Assert.Single(Assert.Single(f.Kernel.Entries).FilterList);
        Assert.Equal("2001:db8:ffff::2/128", filter.Network.ToString());
        Assert.Equal((ushort)4000, filter.Port);
    }

    [Fact]
    public async Task GetOutboundPinholeTimeout_AnswersOrRefuses()
    {
        await using var f = await StartAsync();
        Assert.Matches("<OutboundPinholeTimeout>\\d+</OutboundPinholeTimeout>",
            await f.CallAsync(s_fw, "GetOutboundPinholeTimeout", Host6, [.. Pinhole().Where(a => a.Item1 != "LeaseTime")]));
        Assert.Equal("705", ErrorCode(await f.CallAsync(s_fw, "GetOutboundPinholeTimeout", Host6, [.. Pinhole(protocol: "1").Where(a => a.Item1 != "LeaseTime")])));
        Assert.Equal("606", ErrorCode(await f.CallAsync(s_fw, "GetOutboundPinholeTimeout", Host6, [.. Pinhole(client: "2001:db8:77::11").Where(a => a.Item1 != "LeaseTime")])));
    }

    private static System.Net.IPAddress IPAddressOf(string text) => System.Net.IPAddress.Parse(text);
}
