using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>SSDP announcements across a restart, heard by a LAN host in the SSDP group, and the per-source answer limit.</summary>
public class UpnpAnnouncementTests : IClassFixture<GatewayLab>
{
    private static readonly IPAddress s_group = IPAddress.Parse("239.255.255.250");
    private readonly GatewayLab _lab;

    public UpnpAnnouncementTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private Socket Listener(string ns) => NetNs.Run(ns, () =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        s.Bind(new IPEndPoint(IPAddress.Any, 1900));
        int eth0 = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().First(n => n.Name == "eth0").GetIPProperties().GetIPv4Properties().Index;
        s.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(s_group, eth0));
        return s;
    });

    private static async Task<List<string>> CollectAsync(Socket socket, TimeSpan window)
    {
        var messages = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < window)
        {
            var got = await GatewayLab.ReceiveAsync(socket, window - clock.Elapsed);
            if (got is null)
            {
                break;
            }

            messages.Add(Encoding.ASCII.GetString(got.Value.Data));
        }

        return messages;
    }

    [Fact]
    public async Task Restart_SaysByeByeThenAliveWithAHigherBootId()
    {
        using Socket lan = Listener(_lab.Lan2);
        using Socket wan = Listener(_lab.Wan);
        await _lab.Daemon!.StopAsync();
        List<string> bye = await CollectAsync(lan, TimeSpan.FromSeconds(1));
        Assert.Contains(bye, m => m.Contains("NTS: ssdp:byebye", StringComparison.Ordinal) && m.Contains("NT: upnp:rootdevice\r\n", StringComparison.Ordinal));
        uint before = BootId(bye.First(m => m.Contains("ssdp:byebye", StringComparison.Ordinal)));

        await _lab.Daemon.StartAsync();
        List<string> alive = await CollectAsync(lan, TimeSpan.FromSeconds(2));
        string? root = alive.Find(m => m.Contains("NTS: ssdp:alive", StringComparison.Ordinal) && m.Contains("NT: upnp:rootdevice\r\n", StringComparison.Ordinal));
        Assert.NotNull(root);
        Assert.Contains("LOCATION: http://192.168.77.1:5000/rootDesc.xml\r\n", root, StringComparison.Ordinal);
        Assert.Contains("HOST: 239.255.255.250:1900\r\n", root, StringComparison.Ordinal);
        Assert.True(BootId(root) > before);
        Assert.Contains(alive, m => m.Contains("NT: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\n", StringComparison.Ordinal)
            && m.Contains("LOCATION: http://192.168.77.1:5000/rootDesc2.xml\r\n", StringComparison.Ordinal));

        // Nothing of it reaches the WAN. What the WAN may see is the gateway's own search for an IGD upstream of it
        // (its WAN address is a documentation one, so it looks for one): a search, never an announcement or an answer.
        Assert.All(await CollectAsync(wan, TimeSpan.FromMilliseconds(500)), m =>
            Assert.Matches(@"^M-SEARCH \* HTTP/1\.1\r\n(.*\r\n)*ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n", m));
    }

    [Fact]
    public async Task Searches_FromOneHost_AreAnsweredUpToItsLimit()
    {
        using Socket socket = GatewayLab.Udp(_lab.Lan1);
        byte[] search = Encoding.ASCII.GetBytes("M-SEARCH * HTTP/1.1\r\nHOST: 192.168.77.1:1900\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\r\n");
        for (int i = 0; i < 20; i++)
        {
            await socket.SendToAsync(search, SocketFlags.None, new IPEndPoint(GatewayLab.GatewayLan, 1900));
        }

        List<string> answers = await CollectAsync(socket, TimeSpan.FromSeconds(2));

        // Each ssdp:all search is 10 answers. Twenty searches would be 200; the bucket holds 6, plus 2 a second.
        Assert.InRange(answers.Count, 10, 100);
        Assert.All(answers, a => Assert.StartsWith("HTTP/1.1 200 OK\r\n", a, StringComparison.Ordinal));
    }

    private static uint BootId(string message) =>
        uint.Parse(Regex.Match(message, @"BOOTID\.UPNP\.ORG: (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
}
