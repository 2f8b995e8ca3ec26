using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// RTSP through the gateway with GStreamer at both ends (conformance/rtsp): gst-rtsp-server on the WAN host, rtspsrc
/// in a LAN host pulling over UDP with nat-method=none, so the client sends nothing toward the media ports and only
/// the gateway can let the stream in. Counts the buffers that reach the client's pipeline.
/// </summary>
public static partial class RtspStream
{
    public sealed record Result(int Buffers, string Output);

    /// <summary>Starts gst-rtsp-server in a namespace; disposing it stops the server.</summary>
    public static async Task<Process> ServeAsync(string ns, IPAddress address, int port = 554)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "netns", "exec", ns, "/usr/bin/python3", Path.Combine(Repository.Root, "conformance", "rtsp", "server.py"), address.ToString(), port.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        Process server = Process.Start(start) ?? throw new InvalidOperationException("cannot start the RTSP server");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        string? line = await server.StandardOutput.ReadLineAsync(cts.Token);
        if (line != "ready")
        {
            server.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"RTSP server: {line} {await server.StandardError.ReadToEndAsync(cts.Token)}");
        }

        return server;
    }

    public static void Stop(Process server)
    {
        server.Kill(entireProcessTree: true);
        server.WaitForExit(5000);
        server.Dispose();
    }

    /// <summary>Pulls the stream for a while from a LAN host, receiving media on the given client ports.</summary>
    public static async Task<Result> PullAsync(string ns, string url, double seconds, string portRange)
    {
        ProcessResult r = await Shell.RunAsync("ip",
            ["netns", "exec", ns, "/usr/bin/python3", Path.Combine(Repository.Root, "conformance", "rtsp", "client.py"), url, seconds.ToString(CultureInfo.InvariantCulture), portRange],
            TimeSpan.FromSeconds(seconds + 30));
        Match m = BuffersPattern().Match(r.Output);
        return new Result(m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : -1, r.ToString());
    }

    [GeneratedRegex(@"buffers (\d+)")]
    private static partial Regex BuffersPattern();
}

public class RtspHelperTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public RtspHelperTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private Task<string> Media4Async() => NftAsync("map", "media4");

    private async Task<string> NftAsync(string kind, string name) =>
        (await Shell.CheckedAsync(_lab.Gw, "nft", "list", kind, "inet", "portmapper", name)).Output;

    private static int Elements(string listing, string server) => Regex.Matches(listing, Regex.Escape(server) + " \\. ").Count;

    [Fact]
    public async Task UdpStream_FromTheWan_ArrivesThroughTheHelper_OnExactlyItsPorts_WhichCloseAfterwards()
    {
        Process server = await RtspStream.ServeAsync(_lab.Wan, GatewayLab.WanHost);
        try
        {
            Task<RtspStream.Result> pull = RtspStream.PullAsync(_lab.Lan1, "rtsp://203.0.113.2:554/test", 5, "5000-5001");

            // While it plays: the external address's ports 5000 and 5001, from that server only, to the client's same ports.
            string during = string.Empty;
            for (int i = 0; i < 40 && Elements(during, "203.0.113.2") < 2; i++)
            {
                await Task.Delay(100);
                during = await Media4Async();
            }

            RtspStream.Result result = await pull;
            Assert.True(result.Buffers >= 100, result.Output); // 50 packets a second for 5 s
            Assert.Contains("203.0.113.2 . 5000 ", during, StringComparison.Ordinal);
            Assert.Contains("203.0.113.2 . 5001 ", during, StringComparison.Ordinal);
            Assert.Contains(": 192.168.77.10 . 5000", during, StringComparison.Ordinal);
            Assert.Equal(2, Elements(during, "203.0.113.2"));

            // TEARDOWN and the connection's end close them.
            await Task.Delay(500);
            Assert.Equal(0, Elements(await Media4Async(), "203.0.113.2"));
            Assert.Equal(0, Elements(await NftAsync("set", "mediafwd4"), "203.0.113.2"));
        }
        finally
        {
            RtspStream.Stop(server);
        }
    }

    [Fact]
    public async Task UdpStream_OverIPv6_IsLetInThroughTheFirewall()
    {
        Process server = await RtspStream.ServeAsync(_lab.Wan, IPAddress.Parse("2001:db8:ffff::2"));
        try
        {
            Task<RtspStream.Result> pull = RtspStream.PullAsync(_lab.Lan1, "rtsp://[2001:db8:ffff::2]:554/test", 4, "5002-5003");
            string during = string.Empty;
            for (int i = 0; i < 40 && Elements(during, "2001:db8:ffff::2") < 2; i++)
            {
                await Task.Delay(100);
                during = await NftAsync("set", "media6");
            }

            RtspStream.Result result = await pull;
            Assert.True(result.Buffers >= 80, result.Output);
            Assert.Contains("2001:db8:ffff::2 . 2001:db8:77::10 . 5002", during, StringComparison.Ordinal);
            Assert.Contains("2001:db8:ffff::2 . 2001:db8:77::10 . 5003", during, StringComparison.Ordinal);
        }
        finally
        {
            RtspStream.Stop(server);
        }
    }

    [Fact]
    public async Task RawSetup_OpensItsPorts_ButMalformedOrHostileOnesOpenNothing()
    {
        // A stand-in server on the WAN host that accepts any SETUP with the client ports it was asked for.
        using TcpListener listener = NetNs.Run(_lab.Wan, () =>
        {
            var l = new TcpListener(IPAddress.Any, 554);
            l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            l.Start();
            return l;
        });
        _ = AnswerSetupsAsync(listener);

        // A well-formed SETUP opens its pair: the test would see it.
        Assert.Equal(2, await SetupAsync("SETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=6000-6001\r\n\r\n"));

        const string Smuggled = "SETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;unicast;client_port=6040-6041\r\n\r\n";
        string[] hostile =
        [
            "SETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: x\r\n\r\nSETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;unicast;client_port=6010-6011\r\n\r\n",
            "SETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=1024-65535\r\n\r\n",
            "SETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;destination=192.168.77.11;client_port=6020-6021\r\n\r\n",
            "SETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=22-23\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: 203.0.113.2\r\n\r\nSETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=6030-6031\r\n\r\n",
            $"SET_PARAMETER rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 1\r\nContent-Length: {Smuggled.Length}\r\n\r\n{Smuggled}",
            "\u0000\u0001\u0002garbage\r\n\r\n",
        ];
        foreach (string request in hostile)
        {
            Assert.True(await SetupAsync(request) == 0, request);
        }

        // And the daemon serves on.
        Assert.Equal(6100, (await _lab.NatPmpcAsync(_lab.Lan1, 6100, 6100, "tcp", 60)).PublicPort);
        await _lab.NatPmpcAsync(_lab.Lan1, 6100, 6100, "tcp", 0);
    }

    [Fact]
    public async Task MediaPorts_AreReinstalledAfterAFirewallReload()
    {
        using TcpListener listener = NetNs.Run(_lab.Wan, () =>
        {
            var l = new TcpListener(IPAddress.Any, 554);
            l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            l.Start();
            return l;
        });
        _ = AnswerSetupsAsync(listener, holdSeconds: 5);
        using Socket socket = NetNs.Run(_lab.Lan1, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await socket.ConnectAsync(GatewayLab.WanHost, 554);
        await socket.SendAsync(Encoding.ASCII.GetBytes("SETUP rtsp://203.0.113.2/a RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port=6200-6201\r\n\r\n"));
        await socket.ReceiveAsync(new byte[4096], SocketFlags.None);
        await Task.Delay(200);
        Assert.Equal(2, Elements(await Media4Async(), "203.0.113.2"));

        // A firewall reload flushes everything; the reconcile loop puts the table back, media ports included.
        await Shell.CheckedAsync(_lab.Gw, "nft", "flush", "ruleset");
        string after = string.Empty;
        for (int i = 0; i < 30 && Elements(after, "203.0.113.2") < 2; i++)
        {
            await Task.Delay(100);
            after = (await Shell.InNamespaceAsync(_lab.Gw, "nft", "list", "map", "inet", "portmapper", "media4")).Output;
        }

        Assert.Contains("203.0.113.2 . 6200 ", after, StringComparison.Ordinal);
        Assert.Contains("203.0.113.2 . 6201 ", after, StringComparison.Ordinal);
        socket.Shutdown(SocketShutdown.Both);
        await Task.Delay(300);
        Assert.Equal(0, Elements(await Media4Async(), "203.0.113.2"));

        // The lab's own masquerade went with the flush; put it back for the other tests of this lab.
        await Shell.CheckedAsync(_lab.Gw, "nft", "add table ip lab_masq; add chain ip lab_masq postrouting { type nat hook postrouting priority srcnat; policy accept; }; add rule ip lab_masq postrouting oifname \"wan0\" masquerade");
    }

    /// <summary>Sends the text from the LAN host over one control connection and says how many media ports were open while it stood.</summary>
    private async Task<int> SetupAsync(string text)
    {
        using Socket socket = NetNs.Run(_lab.Lan1, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await socket.ConnectAsync(GatewayLab.WanHost, 554);
        await socket.SendAsync(Encoding.Latin1.GetBytes(text));
        byte[] buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await Task.Delay(200);
        int open = Elements(await Media4Async(), "203.0.113.2");
        socket.Shutdown(SocketShutdown.Both);
        await Task.Delay(200);
        Assert.Equal(0, Elements(await Media4Async(), "203.0.113.2"));
        return open;
    }

    /// <summary>Answers every request that names client ports with 200 and those ports; everything else with 400.</summary>
    private static async Task AnswerSetupsAsync(TcpListener listener, double holdSeconds = 1.5)
    {
        try
        {
            while (true)
            {
                Socket client = await listener.AcceptSocketAsync();
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        byte[] buffer = new byte[8192];
                        int n = await client.ReceiveAsync(buffer);
                        string text = Encoding.Latin1.GetString(buffer, 0, n);
                        var answer = new StringBuilder();
                        foreach (Match m in Regex.Matches(text, @"CSeq: (\d+)\r\nTransport: ([^\r]+)\r\n"))
                        {
                            answer.Append(CultureInfo.InvariantCulture, $"RTSP/1.0 200 OK\r\nCSeq: {m.Groups[1].Value}\r\nTransport: {m.Groups[2].Value};server_port=7000-7001\r\nSession: 1234\r\n\r\n");
                        }

                        await client.SendAsync(Encoding.Latin1.GetBytes(answer.Length > 0 ? answer.ToString() : "RTSP/1.0 400 Bad Request\r\nCSeq: 0\r\n\r\n"));
                        await Task.Delay(TimeSpan.FromSeconds(holdSeconds));
                    }
                });
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }
    }
}

/// <summary>helpers.rtsp false: the same stream never arrives, since nothing lets its UDP in.</summary>
public class RtspWithoutHelperTests : IClassFixture<NoRtspHelperLab>
{
    private readonly NoRtspHelperLab _lab;

    public RtspWithoutHelperTests(NoRtspHelperLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task UdpStream_WithoutTheHelper_DoesNotArrive()
    {
        Process server = await RtspStream.ServeAsync(_lab.Wan, GatewayLab.WanHost);
        try
        {
            RtspStream.Result result = await RtspStream.PullAsync(_lab.Lan1, "rtsp://203.0.113.2:554/test", 4, "5000-5001");
            Assert.True(result.Buffers == 0, result.Output);
            Assert.DoesNotContain("log prefix", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        }
        finally
        {
            RtspStream.Stop(server);
        }
    }
}

public sealed class NoRtspHelperLab : GatewayLab
{
    public NoRtspHelperLab()
    {
        ConfigJson = """{ "helpers": { "rtsp": false } }""";
    }
}
