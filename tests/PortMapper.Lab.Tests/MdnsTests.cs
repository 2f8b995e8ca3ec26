using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>The admin page advertised as _http._tcp with mDNS: found by avahi-browse on the LAN, never heard on the WAN.</summary>
public class MdnsTests : IClassFixture<AdminLanLab>
{
    private static readonly IPAddress s_group = IPAddress.Parse("224.0.0.251");
    private readonly AdminLanLab _lab;

    public MdnsTests(AdminLanLab lab)
    {
        _lab = lab;
    }

    private static Socket Listener(string ns) => NetNs.Run(ns, () =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        s.Bind(new IPEndPoint(IPAddress.Any, 5353));
        int eth0 = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().First(n => n.Name == "eth0").GetIPProperties().GetIPv4Properties().Index;
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(s_group, eth0));
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, IPAddress.HostToNetworkOrder(eth0));
        return s;
    });

    private static async Task<List<(byte[] Data, IPEndPoint From)>> CollectAsync(Socket socket, TimeSpan window)
    {
        var got = new List<(byte[], IPEndPoint)>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < window && await GatewayLab.ReceiveAsync(socket, window - clock.Elapsed) is { } one)
        {
            got.Add(one);
        }

        return got;
    }

    private static bool MentionsHttp((byte[] Data, IPEndPoint From) datagram) =>
        Encoding.ASCII.GetString(datagram.Data).Contains("_http", StringComparison.Ordinal);

    [Fact]
    public async Task AvahiBrowse_OnTheLan_ResolvesTheAdminPage()
    {
        ProcessResult browse = await Shell.RunAsync("bash", [Path.Combine(Repository.Root, "conformance", "lab", "avahi-browse.sh"), _lab.Lan1, "4", "--", "-rp", "_http._tcp"], TimeSpan.FromSeconds(30));
        string resolved = browse.Output.Split('\n').FirstOrDefault(l => l.StartsWith("=;eth0;IPv4;PortMapper", StringComparison.Ordinal)) ?? string.Empty;
        Assert.True(resolved.Length > 0, browse.ToString());
        Assert.EndsWith(";192.168.77.1;8470;\"path=/\"", resolved, StringComparison.Ordinal);
        Assert.Contains("-portmapper.local;", resolved, StringComparison.Ordinal);

        // What it points to is the admin page, behind its token.
        string token = File.ReadAllText(Path.Combine(_lab.StateDirectory, "admin.token")).Trim();
        string page = await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, $"GET /?token={token} HTTP/1.1\r\nHost: 192.168.77.1:8470\r\nConnection: close\r\n\r\n", port: 8470);
        Assert.Equal(200, RawHttp.Status(page));
        Assert.Contains("<title>PortMapper</title>", page, StringComparison.Ordinal);
        Assert.Equal(401, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, "GET / HTTP/1.1\r\nHost: 192.168.77.1:8470\r\nConnection: close\r\n\r\n", port: 8470)));
    }

    [Fact]
    public async Task Wan_HearsNothing_AndIsNotAnswered()
    {
        using Socket lan = Listener(_lab.Lan2);
        using Socket wan = Listener(_lab.Wan);

        // A restart announces (twice) and says goodbye: the LAN hears it, the WAN does not.
        await _lab.Daemon!.StopAsync();
        await _lab.Daemon.StartAsync();
        List<(byte[] Data, IPEndPoint From)> heard = await CollectAsync(lan, TimeSpan.FromSeconds(2.5));
        Assert.True(heard.Count(MentionsHttp) >= 2, $"{heard.Count} datagrams on the LAN");
        Assert.All(heard.Where(MentionsHttp), h => Assert.Equal(GatewayLab.GatewayLan, h.From.Address));

        // A query from the WAN, to the group and to the external address: no answer anywhere.
        byte[] query = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, .. "_http"u8, 4, .. "_tcp"u8, 5, .. "local"u8, 0, 0, 12, 0, 1];
        using Socket asker = GatewayLab.Udp(_lab.Wan);
        await asker.SendToAsync(query, SocketFlags.None, new IPEndPoint(GatewayLab.External, 5353));
        await wan.SendToAsync(query, SocketFlags.None, new IPEndPoint(s_group, 5353));
        Assert.Null(await GatewayLab.ReceiveAsync(asker, TimeSpan.FromSeconds(1)));
        // The WAN hears its own query back (multicast loopback), and nothing else.
        Assert.All(await CollectAsync(wan, TimeSpan.FromSeconds(1)), d => Assert.Equal(GatewayLab.WanHost, d.From.Address));

        // The same query from the LAN, legacy unicast (not from port 5353): answered, with the query's ID.
        using Socket lanAsker = GatewayLab.Udp(_lab.Lan1);
        byte[] lanQuery = [0x12, 0x34, .. query[2..]];
        await lanAsker.SendToAsync(lanQuery, SocketFlags.None, new IPEndPoint(s_group, 5353));
        var answer = await GatewayLab.ReceiveAsync(lanAsker, TimeSpan.FromSeconds(2));
        Assert.NotNull(answer);
        Assert.Equal([0x12, 0x34, 0x84, 0x00], answer.Value.Data[..4]);
        Assert.Contains("PortMapper on", Encoding.ASCII.GetString(answer.Value.Data), StringComparison.Ordinal);
    }
}
