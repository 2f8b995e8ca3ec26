using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// UPnP IGD with Debian's clients: upnpc (miniupnpc), python3-miniupnpc and gssdp-discover. Every mapping is
/// proven from the WAN namespace. upnpc calls an IGD with a reserved external address "not connected", so it is
/// given the description URL.
/// </summary>
public partial class UpnpClientTests : IClassFixture<GatewayLab>
{
    private const string Igd1 = "http://192.168.77.1:5000/rootDesc.xml";
    private const string Igd2 = "http://192.168.77.1:5000/rootDesc2.xml";
    private const string Igd2Over6 = "http://[2001:db8:77::1]:5000/rootDesc2.xml";
    private readonly GatewayLab _lab;

    public UpnpClientTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private static Task<ProcessResult> UpnpcAsync(string ns, params string[] args) => Shell.InNamespaceAsync(ns, ["upnpc", .. args]);

    [Fact]
    public async Task Upnpc_AddPortMapping_ReachableFromWan_ListedAndDeleted()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8080, "upnp-tcp");
        ProcessResult add = await UpnpcAsync(_lab.Lan1, "-u", Igd1, "-e", "web server", "-a", "192.168.77.10", "8080", "18080", "TCP", "600");
        Assert.Contains("external 203.0.113.1:18080 TCP is redirected to internal 192.168.77.10:8080 (duration=600)", add.Output, StringComparison.Ordinal);
        Assert.Equal("upnp-tcp", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 18080));

        ProcessResult list = await UpnpcAsync(_lab.Lan1, "-u", Igd1, "-l");
        Assert.Matches(@"TCP 18080->192\.168\.77\.10:8080\s+'web server' '' \d+", list.Output);

        // Another host cannot take the port, or delete it (secure mode).
        ProcessResult steal = await UpnpcAsync(_lab.Lan2, "-u", Igd1, "-a", "192.168.77.11", "8080", "18080", "TCP", "600");
        Assert.Contains("718", steal.Output, StringComparison.Ordinal);
        ProcessResult delete2 = await UpnpcAsync(_lab.Lan2, "-u", Igd1, "-d", "18080", "TCP");
        Assert.Contains("606", delete2.Output, StringComparison.Ordinal);
        Assert.Equal("upnp-tcp", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 18080));

        ProcessResult delete = await UpnpcAsync(_lab.Lan1, "-u", Igd1, "-d", "18080", "TCP");
        Assert.Contains("UPNP_DeletePortMapping() returned : 0", delete.Output, StringComparison.Ordinal);
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 18080, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Upnpc_RemoteHost_OnlyThatHostGetsThrough()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8500, "only-for-2");
        ProcessResult add = await UpnpcAsync(_lab.Lan1, "-u", Igd1, "-a", "192.168.77.10", "8500", "18500", "TCP", "600", "203.0.113.2");
        Assert.Contains("is redirected", add.Output, StringComparison.Ordinal);
        Assert.Equal("only-for-2", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 18500, from: GatewayLab.WanHost));
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 18500, TimeSpan.FromSeconds(1), from: GatewayLab.WanHost2));
        await UpnpcAsync(_lab.Lan1, "-u", Igd1, "-d", "18500", "TCP", "203.0.113.2");
    }

    [Fact]
    public async Task Upnpc_Status_ReportsTheWanAddressAndItsRealCounters()
    {
        long before = long.Parse((await Shell.CheckedAsync(_lab.Gw, "cat", "/sys/class/net/wan0/statistics/rx_bytes")).Output.Trim(), CultureInfo.InvariantCulture);
        ProcessResult status = await UpnpcAsync(_lab.Lan1, "-u", Igd1, "-s");
        long after = long.Parse((await Shell.CheckedAsync(_lab.Gw, "cat", "/sys/class/net/wan0/statistics/rx_bytes")).Output.Trim(), CultureInfo.InvariantCulture);
        Assert.Contains("ExternalIPAddress = 203.0.113.1", status.Output, StringComparison.Ordinal);
        Assert.Contains("Connection Type : IP_Routed", status.Output, StringComparison.Ordinal);
        Assert.Contains("Status : Connected", status.Output, StringComparison.Ordinal);
        Match bytes = Regex.Match(status.Output, @"Bytes:\s+Sent:\s+(\d+)\s+Recv:\s+(\d+)");
        Assert.True(bytes.Success, status.Output);
        long received = long.Parse(bytes.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.InRange(received, before, after);
        Assert.True(received > 0);
    }

    [Fact]
    public async Task Upnpc_Igd2_AddAnyAndRange()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan2, 8300, "any-port");
        ProcessResult first = await UpnpcAsync(_lab.Lan1, "-u", Igd2, "-a", "192.168.77.10", "8300", "28300", "TCP", "600");
        Assert.Contains("is redirected", first.Output, StringComparison.Ordinal);

        // AddAnyPortMapping: the port is taken, so another one is reserved, and it works from the WAN.
        ProcessResult any = await UpnpcAsync(_lab.Lan2, "-u", Igd2, "-n", "192.168.77.11", "8300", "28300", "TCP", "600");
        Match reserved = Regex.Match(any.Output, @"external 203\.0\.113\.1:(\d+) TCP is redirected to internal 192\.168\.77\.11:8300");
        Assert.True(reserved.Success, any.Output);
        int port = int.Parse(reserved.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.NotEqual(28300, port);
        Assert.Equal("any-port", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, port));

        // DeletePortMappingRange with Manage over another host's mapping: refused, nothing deleted.
        ProcessResult range = await UpnpcAsync(_lab.Lan2, "-u", Igd2, "-N", "28000", "29000", "TCP", "1");
        Assert.Contains("606", range.Output, StringComparison.Ordinal);
        Assert.Contains("tcp . 28300", await _lab.KernelTableAsync(), StringComparison.Ordinal);

        ProcessResult own = await UpnpcAsync(_lab.Lan2, "-u", Igd2, "-N", "28000", "65535", "TCP", "0");
        Assert.Contains("UPNP_DeletePortMappingRange() returned : 0", own.Output, StringComparison.Ordinal);
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, port, TimeSpan.FromSeconds(1)));
        Assert.Contains("tcp . 28300", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        await UpnpcAsync(_lab.Lan1, "-u", Igd2, "-d", "28300", "TCP");
    }

    [Fact]
    public async Task Upnpc_Pinhole_ReachableFromWanOverIPv6_CountedAndDeleted()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 7100, "pinhole");
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan1Address6, 7100, TimeSpan.FromSeconds(1)));

        ProcessResult add = await UpnpcAsync(_lab.Lan1, "-6", "-u", Igd2Over6, "-A", "", "0", "2001:db8:77::10", "7100", "TCP", "600");
        Match id = Regex.Match(add.Output, @"Pinhole ID = (\d+)");
        Assert.True(id.Success, add.Output);
        Assert.Equal("pinhole", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan1Address6, 7100));

        ProcessResult packets = await UpnpcAsync(_lab.Lan1, "-6", "-u", Igd2Over6, "-K", id.Groups[1].Value);
        Match count = Regex.Match(packets.Output, @"PinholePackets = (\d+)");
        Assert.True(count.Success, packets.Output);
        Assert.True(int.Parse(count.Groups[1].Value, CultureInfo.InvariantCulture) > 0, packets.Output);
        ProcessResult working = await UpnpcAsync(_lab.Lan1, "-6", "-u", Igd2Over6, "-C", id.Groups[1].Value);
        Assert.True(working.Output.Contains($"CheckPinholeWorking: Pinhole ID = {id.Groups[1].Value} / IsWorking = Yes", StringComparison.Ordinal), working.Output);

        // Another host may not delete it.
        ProcessResult steal = await UpnpcAsync(_lab.Lan2, "-6", "-u", Igd2Over6, "-D", id.Groups[1].Value);
        Assert.Contains("606", steal.Output, StringComparison.Ordinal);

        ProcessResult delete = await UpnpcAsync(_lab.Lan1, "-6", "-u", Igd2Over6, "-D", id.Groups[1].Value);
        Assert.Contains("UPNP_DeletePinhole() returned : 0", delete.Output, StringComparison.Ordinal);
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan1Address6, 7100, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task PythonMiniupnpc_DiscoversBySsdp_MapsUdpReachableFromWan()
    {
        using Socket service = GatewayLab.Udp(_lab.Lan2, 9400);
        const string Script = """
            import miniupnpc
            u = miniupnpc.UPnP()
            u.discoverdelay = 2000
            print("devices", u.discover())
            print("control", u.selectigd())
            print("external", u.externalipaddress())
            print("added", u.addportmapping(19400, "UDP", "192.168.77.11", 9400, "py game", ""))
            print("entry", u.getspecificportmapping(19400, "UDP"))
            """;
        ProcessResult run = await Shell.InNamespaceAsync(_lab.Lan2, "/usr/bin/python3", "-c", Script);
        Assert.Contains("control http://192.168.77.1:5000/ctl/IPConn1", run.Output, StringComparison.Ordinal);
        Assert.Contains("external 203.0.113.1", run.Output, StringComparison.Ordinal);
        Assert.Contains("added True", run.Output, StringComparison.Ordinal);
        Assert.Contains("entry ('192.168.77.11', 9400, 'py game', True, 0)", run.Output, StringComparison.Ordinal);

        using Socket wan = GatewayLab.Udp(_lab.Wan);
        await wan.SendToAsync(Encoding.ASCII.GetBytes("hello"), SocketFlags.None, new IPEndPoint(GatewayLab.External, 19400));
        var got = await GatewayLab.ReceiveAsync(service, TimeSpan.FromSeconds(2));
        Assert.Equal("hello", got is { } g ? Encoding.ASCII.GetString(g.Data) : null);

        ProcessResult delete = await Shell.InNamespaceAsync(_lab.Lan2, "/usr/bin/python3", "-c",
            "import miniupnpc\nu = miniupnpc.UPnP()\nu.discoverdelay = 2000\nu.discover()\nu.selectigd()\nprint('deleted', u.deleteportmapping(19400, 'UDP'))");
        Assert.Contains("deleted True", delete.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("udp . 19400", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GssdpDiscover_FindsBothDescriptionsOnTheLan()
    {
        // gssdp asks with MX 3 and the gateway answers at a random moment within it (UDA 1.1 §1.3.3): listen past it.
        ProcessResult igd1 = await Shell.InNamespaceAsync(_lab.Lan1, "timeout", "10", "gssdp-discover", "-i", "eth0", "--timeout=5",
            "--target=urn:schemas-upnp-org:device:InternetGatewayDevice:1");
        Assert.Contains("Location: http://192.168.77.1:5000/rootDesc.xml", igd1.Output, StringComparison.Ordinal);
        ProcessResult firewall = await Shell.InNamespaceAsync(_lab.Lan1, "timeout", "10", "gssdp-discover", "-i", "eth0", "--timeout=5",
            "--target=urn:schemas-upnp-org:service:WANIPv6FirewallControl:1");
        Assert.Contains("Location: http://192.168.77.1:5000/rootDesc2.xml", firewall.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("rootDesc.xml", firewall.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ssdp_FromTheWan_GetsNothing()
    {
        ProcessResult discover = await Shell.InNamespaceAsync(_lab.Wan, "timeout", "8", "gssdp-discover", "-i", "eth0", "--timeout=3");
        Assert.DoesNotContain("Location:", discover.Output, StringComparison.Ordinal);

        // A unicast M-SEARCH straight at the external address: silence.
        using Socket socket = GatewayLab.Udp(_lab.Wan);
        byte[] search = Encoding.ASCII.GetBytes("M-SEARCH * HTTP/1.1\r\nHOST: 203.0.113.1:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n");
        await socket.SendToAsync(search, SocketFlags.None, new IPEndPoint(GatewayLab.External, 1900));
        Assert.Null(await GatewayLab.ReceiveAsync(socket, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task Ssdp_Ipv6SearchOnTheLan_PointsToTheGlobalLanAddress()
    {
        using Socket socket = NetNs.Run(_lab.Lan1, () =>
        {
            var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
            return s;
        });
        int eth0 = NetNs.Run(_lab.Lan1, () => System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().First(n => n.Name == "eth0").GetIPProperties().GetIPv6Properties().Index);
        byte[] search = Encoding.ASCII.GetBytes("M-SEARCH * HTTP/1.1\r\nHOST: [FF02::C]:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:schemas-upnp-org:service:WANIPv6FirewallControl:1\r\n\r\n");
        await socket.SendToAsync(search, SocketFlags.None, new IPEndPoint(IPAddress.Parse("ff02::c%" + eth0.ToString(CultureInfo.InvariantCulture)), 1900));
        var answer = await GatewayLab.ReceiveAsync(socket, TimeSpan.FromSeconds(3));
        Assert.NotNull(answer);
        Assert.Contains("LOCATION: http://[2001:db8:77::1]:5000/rootDesc2.xml\r\n", Encoding.ASCII.GetString(answer.Value.Data), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ssdp_SearchFromTheLan_IsAnsweredWithinMxFromTheLanAddress()
    {
        using Socket socket = GatewayLab.Udp(_lab.Lan1);
        byte[] search = Encoding.ASCII.GetBytes("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:schemas-upnp-org:service:WANIPConnection:2\r\n\r\n");
        var started = System.Diagnostics.Stopwatch.StartNew();
        await socket.SendToAsync(search, SocketFlags.None, new IPEndPoint(IPAddress.Parse("239.255.255.250"), 1900));
        var answer = await GatewayLab.ReceiveAsync(socket, TimeSpan.FromSeconds(3));
        Assert.NotNull(answer);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(1.5), started.Elapsed.ToString());
        string text = Encoding.ASCII.GetString(answer.Value.Data);
        Assert.Equal(GatewayLab.GatewayLan, answer.Value.From.Address);
        Assert.Contains("LOCATION: http://192.168.77.1:5000/rootDesc2.xml\r\n", text, StringComparison.Ordinal);
        Assert.Contains("ST: urn:schemas-upnp-org:service:WANIPConnection:2\r\n", text, StringComparison.Ordinal);
        Assert.Matches(@"BOOTID\.UPNP\.ORG: \d+\r\n", text);
    }
}
