using System.Net;
using System.Net.Sockets;
using PortMapper.Conformance.PcpClient;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// Double NAT: the gateway under test (WAN 100.64.0.2) behind an ISP gateway. Each LAN client's mapping is
/// carried through, the answer names what the Internet sees, and the Internet host reaches the LAN service
/// through both NATs. Run against a second PortMapper and against Debian's miniupnpd as the ISP's gateway.
/// </summary>
public abstract class ChainTestsBase<TLab>(TLab lab)
    where TLab : ChainLab
{
    protected TLab Lab { get; } = lab;

    [Fact]
    public async Task Natpmpc_AnswerNamesTheIspAddress_InternetReachesTheLanHost_DeleteClosesBothLevels()
    {
        using TcpListener service = GatewayLab.ServeTcp(Lab.Lan1, 8080, "chain-natpmp");
        Assert.Null(await GatewayLab.TryTcpAsync(Lab.Inet, Lab.Public, 8080, TimeSpan.FromMilliseconds(500)));

        ProcessResult map = await Lab.NatPmpcAsync("-a", "8080", "8080", "tcp", "600");
        Assert.Contains($"Public IP address : {Lab.Public}", map.Output, StringComparison.Ordinal);
        Assert.Contains("Mapped public port 8080 protocol TCP to local port 8080", map.Output, StringComparison.Ordinal);
        Assert.Contains("8080", await Lab.IspMappingsAsync(), StringComparison.Ordinal);
        Assert.Equal("chain-natpmp", await GatewayLab.TryTcpAsync(Lab.Inet, Lab.Public, 8080));

        ProcessResult delete = await Lab.NatPmpcAsync("-a", "8080", "8080", "tcp", "0");
        Assert.Equal(0, delete.ExitCode);
        string isp = await Lab.WaitForIspAsync(m => !m.Contains("8080", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        Assert.DoesNotContain("8080", isp, StringComparison.Ordinal);
        Assert.Null(await GatewayLab.TryTcpAsync(Lab.Inet, Lab.Public, 8080, TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Expiry_ClosesBothLevels()
    {
        using TcpListener service = GatewayLab.ServeTcp(Lab.Lan1, 8087, "chain-expiry");
        ProcessResult map = await Lab.NatPmpcAsync("-a", "8087", "8087", "tcp", "4");
        Assert.Contains("Mapped public port 8087", map.Output, StringComparison.Ordinal);
        Assert.Equal("chain-expiry", await GatewayLab.TryTcpAsync(Lab.Inet, Lab.Public, 8087));

        // The gateway's own record of the lease going is the signal; then neither level holds it.
        await Lab.Gateway!.WaitForLogAsync("Tcp 8087 -> 192.168.77.10:8087 expired", TimeSpan.FromSeconds(15));
        string isp = await Lab.WaitForIspAsync(m => !m.Contains("8087", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        Assert.DoesNotContain("8087", isp, StringComparison.Ordinal);
        Assert.Null(await GatewayLab.TryTcpAsync(Lab.Inet, Lab.Public, 8087, TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Upnpc_ExternalAddressIsTheIsps_InternetReachesTheLanHost()
    {
        using TcpListener service = GatewayLab.ServeTcp(Lab.Lan1, 8081, "chain-upnp");
        // A description whose length is not a multiple of 4 (miniupnpd refuses PCP's DESCRIPTION option then: the
        // gateway asks again without it).
        ProcessResult add = await Shell.InNamespaceAsync(Lab.Lan1, "upnpc", "-e", "web cam", "-u", "http://192.168.77.1:5000/rootDesc.xml",
            "-a", "192.168.77.10", "8081", "8081", "TCP", "600");
        Assert.Contains($"external {Lab.Public}:8081 TCP is redirected to internal 192.168.77.10:8081", add.Output, StringComparison.Ordinal);
        Assert.Equal("chain-upnp", await GatewayLab.TryTcpAsync(Lab.Inet, Lab.Public, 8081));

        ProcessResult remove = await Shell.InNamespaceAsync(Lab.Lan1, "upnpc", "-u", "http://192.168.77.1:5000/rootDesc.xml", "-d", "8081", "TCP");
        Assert.Equal(0, remove.ExitCode);
        string isp = await Lab.WaitForIspAsync(m => !m.Contains("8081", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        Assert.DoesNotContain("8081", isp, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pcp_AssignedAddressIsTheIsps_UdpReachesTheLanHost()
    {
        byte[] nonce = PcpMessage.NewNonce();
        PcpAnswer? answer = await GatewayLab.PcpAsync(Lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan,
            PcpMessage.Map(GatewayLab.Lan1Address, PcpMessage.Udp, 9000, 9000, 600, nonce), TimeSpan.FromSeconds(6));
        Assert.NotNull(answer);
        Assert.Equal(0, answer.Result);
        Assert.Equal(Lab.Public, answer.ExternalAddress);
        Assert.True(answer.Lifetime is > 0 and <= 600, $"lifetime {answer.Lifetime}");

        using Socket lanSide = GatewayLab.Udp(Lab.Lan1, 9000);
        using Socket internet = GatewayLab.Udp(Lab.Inet);
        await internet.SendToAsync("through two NATs"u8.ToArray(), SocketFlags.None, new IPEndPoint(Lab.Public, answer.ExternalPort));
        var got = await GatewayLab.ReceiveAsync(lanSide, TimeSpan.FromSeconds(2));
        Assert.NotNull(got);
    }

    [Fact]
    public async Task UpstreamRestartWithoutItsState_EveryMappingIsAskedForAgain()
    {
        ProcessResult map = await Lab.NatPmpcAsync("-a", "8082", "8082", "udp", "600");
        Assert.Contains("Mapped public port 8082", map.Output, StringComparison.Ordinal);
        Assert.Contains("8082", await Lab.IspMappingsAsync(), StringComparison.Ordinal);

        await Lab.WaitForIspEpochAsync(4);
        byte[]? before = await GatewayLab.NatPmpExchangeAsync(Lab.Lan1, GatewayLab.GatewayLan, [0, 0]);
        Assert.NotNull(before);
        uint epochBefore = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(before.AsSpan(4));
        using Socket announcements = GatewayLab.Udp(Lab.Lan1, 5350);
        await Lab.StopIspAsync();
        await Lab.StartIspAsync(wipe: true);

        // The restarted ISP's announcement (or, failing that, the minute's check) tells the gateway its epoch went back.
        await Lab.Gateway!.WaitForLogAsync("lost or moved its mappings", TimeSpan.FromSeconds(75));
        string isp = await Lab.WaitForIspAsync(m => m.Contains("8082", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Contains("8082", isp, StringComparison.Ordinal);

        // LAN clients hear of it: the gateway's NAT-PMP announcement, naming the public address, with a new epoch.
        bool heard = false;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!heard && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            var got = await GatewayLab.ReceiveAsync(announcements, TimeSpan.FromSeconds(1));
            heard = got is { Data: [0, 128, 0, 0, _, _, _, _, var a, var b, var c, var d] } && new IPAddress([a, b, c, d]).Equals(Lab.Public)
                && System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(got.Value.Data.AsSpan(4)) < epochBefore;
        }

        Assert.True(heard, "no NAT-PMP announcement of a new epoch on the LAN");
    }
}

public sealed class ChainTests(ChainLab lab) : ChainTestsBase<ChainLab>(lab), IClassFixture<ChainLab>
{
    [Fact]
    public async Task UpstreamDown_RequestGetsNetworkFailure_AndNothingIsKept()
    {
        await Lab.StopIspAsync();
        try
        {
            ProcessResult map = await Lab.NatPmpcAsync("-a", "8083", "8083", "tcp", "600");
            Assert.DoesNotContain("Mapped public port 8083", map.Output, StringComparison.Ordinal);
            Assert.Contains("-52", map.Output, StringComparison.Ordinal); // NATPMP_ERR_NETWORKFAILURE
            ProcessResult leases = await Shell.InNamespaceAsync(Lab.Gw, Repository.DaemonPath, "leases", "--state-dir", Lab.Gateway!.StateDirectory);
            Assert.DoesNotContain("8083", leases.Output, StringComparison.Ordinal);

            // upstream.required: false (a reload): the lease is kept, local only, and the API says so.
            await ReloadAsync("""{ "upstream": { "required": false } }""", 1);
            map = await Lab.NatPmpcAsync("-a", "8083", "8083", "tcp", "600");
            Assert.Contains("Mapped public port 8083", map.Output, StringComparison.Ordinal);
            leases = await Shell.InNamespaceAsync(Lab.Gw, Repository.DaemonPath, "leases", "--state-dir", Lab.Gateway.StateDirectory, "--port", "8083");
            Assert.Contains("local only: port unreachable", leases.Output, StringComparison.Ordinal);
            await Lab.NatPmpcAsync("-a", "8083", "8083", "tcp", "0");
        }
        finally
        {
            await ReloadAsync("{}", 2);
            await Lab.StartIspAsync();
        }
    }

    private async Task ReloadAsync(string config, int times)
    {
        await File.WriteAllTextAsync(Path.Combine(Lab.Work, "gw.json"), config);
        Lab.Gateway!.Hangup();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (System.Text.RegularExpressions.Regex.Matches(Lab.Gateway.Log, "Reloaded the configuration").Count < times && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(25);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the reload was not logged");
    }

    [Fact]
    public async Task UpstreamGivesAnotherPort_NatPmpClientToldIt_PcpPreferFailureAndUpnpRefused()
    {
        // NAT-PMP names the mapping by its internal port: the client is told the port the Internet really uses.
        using TcpListener service = GatewayLab.ServeTcp(Lab.Lan1, 8099, "chain-other-port");
        ProcessResult map = await Lab.NatPmpcAsync("-a", "8099", "8099", "tcp", "600");
        System.Text.RegularExpressions.Match mapped = System.Text.RegularExpressions.Regex.Match(map.Output, @"Mapped public port (\d+) protocol TCP to local port 8099");
        Assert.True(mapped.Success, map.Output);
        int port = int.Parse(mapped.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(8099, port);
        Assert.Equal("chain-other-port", await GatewayLab.TryTcpAsync(Lab.Inet, Lab.Public, port));
        await Lab.NatPmpcAsync("-a", "8099", "8099", "tcp", "0");

        // PCP with PREFER_FAILURE (RFC 6887 §13.2): the port asked for or nothing, through the upstream too.
        PcpAnswer? exact = await GatewayLab.PcpAsync(Lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan,
            PcpMessage.Map(GatewayLab.Lan1Address, PcpMessage.Tcp, 8099, 8099, 600, PcpMessage.NewNonce(), PcpMessage.PreferFailure()), TimeSpan.FromSeconds(6));
        Assert.Equal((byte?)PcpAnswer.CannotProvideExternal, exact?.Result);
        await WaitForNoLocalLeaseAsync(8099);

        // IGD names it by its external port: one the Internet would see under another cannot be granted (718).
        ProcessResult add = await Shell.InNamespaceAsync(Lab.Lan1, "upnpc", "-u", "http://192.168.77.1:5000/rootDesc.xml",
            "-a", "192.168.77.10", "8099", "8099", "UDP", "600");
        Assert.Contains("718", add.Output, StringComparison.Ordinal);
        await WaitForNoLocalLeaseAsync(8099);
    }

    /// <summary>A refused request's local lease is revoked right after the answer.</summary>
    private async Task WaitForNoLocalLeaseAsync(int port)
    {
        ProcessResult leases;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            leases = await Shell.InNamespaceAsync(Lab.Gw, Repository.DaemonPath, "leases", "--state-dir", Lab.Gateway!.StateDirectory, "--port",
                port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        while (!leases.Output.Contains("0 lease(s)", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(3));
        Assert.Contains("0 lease(s)", leases.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_NamesTheUpstreamAndItsPublicAddress_LeasesShowWhereTheyStand()
    {
        ProcessResult status = await Shell.InNamespaceAsync(Lab.Gw, Repository.DaemonPath, "status", "--state-dir", Lab.Gateway!.StateDirectory);
        Assert.Contains($"pcp at {ChainLab.IspGateway}, public address {Lab.Public}", status.Output, StringComparison.Ordinal);
        string token = (await File.ReadAllTextAsync(Path.Combine(Lab.Gateway.StateDirectory, "admin.token"))).Trim();
        ProcessResult metrics = await Shell.InNamespaceAsync(Lab.Gw, "curl", "-s", "-H", "Authorization: Bearer " + token, "http://127.0.0.1:8470/metrics");
        Assert.Contains($"portmapper_upstream_info{{protocol=\"pcp\",server=\"{ChainLab.IspGateway}\",public_address=\"{Lab.Public}\"}} 1", metrics.Output, StringComparison.Ordinal);
        Assert.Matches(@"portmapper_upstream_epoch_seconds \d+", metrics.Output);

        // RFC 7220: the LAN client's DESCRIPTION goes upstream with the mapping.
        PcpAnswer? answer = await GatewayLab.PcpAsync(Lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan,
            PcpMessage.Map(GatewayLab.Lan1Address, PcpMessage.Tcp, 9100, 9100, 600, PcpMessage.NewNonce(), PcpMessage.Option(128, "camera feed"u8.ToArray())),
            TimeSpan.FromSeconds(6));
        Assert.Equal((byte?)0, answer?.Result);
        ProcessResult leases = await Shell.InNamespaceAsync(Lab.Gw, Repository.DaemonPath, "leases", "--state-dir", Lab.Gateway.StateDirectory);
        Assert.Contains($"mapped {Lab.Public}:9100", leases.Output, StringComparison.Ordinal);
        Assert.Matches(@"9100\s+100\.64\.0\.2:9100.*camera feed", await Lab.IspMappingsAsync());
    }
}

public sealed class MiniupnpdChainTests(MiniupnpdChainLab lab) : ChainTestsBase<MiniupnpdChainLab>(lab), IClassFixture<MiniupnpdChainLab>;

/// <summary>Upstream UPnP IGD (miniupnpd without NAT-PMP and PCP): found after PCP and NAT-PMP are refused, mappings carried by SOAP.</summary>
public sealed class UpnpChainTests(MiniupnpdUpnpChainLab lab) : IClassFixture<MiniupnpdUpnpChainLab>
{
    [Fact]
    public async Task NatPmpAndUpnpClients_MapThroughAnUpstreamIgd_RestartNoticedByTheMinutesCheck()
    {
        ProcessResult status = await Shell.InNamespaceAsync(lab.Gw, Repository.DaemonPath, "status", "--state-dir", lab.Gateway!.StateDirectory);
        Assert.Contains($"upnp at {ChainLab.IspGateway}, public address {lab.Public}", status.Output, StringComparison.Ordinal);

        using TcpListener service = GatewayLab.ServeTcp(lab.Lan1, 8085, "chain-igd");
        ProcessResult map = await lab.NatPmpcAsync("-a", "8085", "8085", "tcp", "600");
        Assert.Contains($"Public IP address : {lab.Public}", map.Output, StringComparison.Ordinal);
        Assert.Contains("Mapped public port 8085", map.Output, StringComparison.Ordinal);
        Assert.Equal("chain-igd", await GatewayLab.TryTcpAsync(lab.Inet, lab.Public, 8085));

        ProcessResult add = await Shell.InNamespaceAsync(lab.Lan1, "upnpc", "-u", "http://192.168.77.1:5000/rootDesc.xml",
            "-a", "192.168.77.10", "8086", "8086", "UDP", "600");
        Assert.Contains($"external {lab.Public}:8086 UDP is redirected", add.Output, StringComparison.Ordinal);
        Assert.Contains("8086", await lab.IspMappingsAsync(), StringComparison.Ordinal);

        // IGD has no epoch: the minute's check finds a mapping the restarted upstream no longer holds.
        await lab.StopIspAsync();
        await lab.StartIspAsync(wipe: true);
        Assert.DoesNotContain("8085", await lab.IspMappingsAsync(), StringComparison.Ordinal);
        await lab.Gateway.WaitForLogAsync("no longer holds the mapping", TimeSpan.FromSeconds(75));
        string isp = await lab.WaitForIspAsync(m => m.Contains("8085", StringComparison.Ordinal) && m.Contains("8086", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Contains("8085", isp, StringComparison.Ordinal);
        Assert.Contains("8086", isp, StringComparison.Ordinal);

        ProcessResult delete = await lab.NatPmpcAsync("-a", "8085", "8085", "tcp", "0");
        Assert.Equal(0, delete.ExitCode);
        isp = await lab.WaitForIspAsync(m => !m.Contains("8085", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        Assert.DoesNotContain("8085", isp, StringComparison.Ordinal);
    }
}

/// <summary>RFC 7291: the PCP server named by the WAN's DHCP lease (option 158) is the one used, not the default gateway.</summary>
public sealed class ChainDhcpTests(ChainDhcpLab lab) : IClassFixture<ChainDhcpLab>
{
    [Fact]
    public async Task ServerFromDhcpOption158_CarriesTheMapping_InternetReachesTheLanHost()
    {
        ProcessResult status = await Shell.InNamespaceAsync(lab.Gw, Repository.DaemonPath, "status", "--state-dir", lab.Gateway!.StateDirectory);
        Assert.Contains($"pcp at {ChainDhcpLab.PcpServer}, public address {lab.Public}", status.Output, StringComparison.Ordinal);
        Assert.Contains("DHCP option 158", status.Output, StringComparison.Ordinal);

        using TcpListener service = GatewayLab.ServeTcp(lab.Lan1, 8087, "chain-dhcp");
        ProcessResult map = await lab.NatPmpcAsync("-a", "8087", "8087", "tcp", "600");
        Assert.Contains($"Public IP address : {lab.Public}", map.Output, StringComparison.Ordinal);
        Assert.Contains("Mapped public port 8087", map.Output, StringComparison.Ordinal);
        Assert.Equal("chain-dhcp", await GatewayLab.TryTcpAsync(lab.Inet, lab.Public, 8087));
    }
}

/// <summary>With <c>upstream.mode: off</c> the gateway answers with its own WAN address, and nothing reaches the LAN host.</summary>
public sealed class ChainOffTests(ChainOffLab lab) : IClassFixture<ChainOffLab>
{
    [Fact]
    public async Task ModeOff_AnswerNamesTheWanAddress_NothingReachesTheLanHost()
    {
        using TcpListener service = GatewayLab.ServeTcp(lab.Lan1, 8084, "chain-off");
        ProcessResult map = await lab.NatPmpcAsync("-a", "8084", "8084", "tcp", "600");
        Assert.Contains($"Public IP address : {ChainLab.GatewayWan}", map.Output, StringComparison.Ordinal);
        Assert.Contains("Mapped public port 8084", map.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("8084", await lab.IspMappingsAsync(), StringComparison.Ordinal);
        Assert.Null(await GatewayLab.TryTcpAsync(lab.Inet, lab.Public, 8084, TimeSpan.FromSeconds(1)));
        Assert.Contains("upstream.mode is off", (await Shell.InNamespaceAsync(lab.Gw, Repository.DaemonPath, "status", "--state-dir", lab.Gateway!.StateDirectory)).Output,
            StringComparison.Ordinal);
    }
}
