using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Conformance.PcpClient;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>The admission stage against hostile LAN hosts, on the real kernel.</summary>
public class AdmissionLabTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public AdmissionLabTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private async Task WaitForTableAsync(string element)
    {
        var clock = Stopwatch.StartNew();
        while (!(await _lab.KernelTableAsync()).Contains(element, StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"'{element}' not in the kernel within 3 s");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task OverlappingFilters_ThenFlushRulesetAndRestart_TableComesBackAndEveryMappingForwards()
    {
        using TcpListener filtered = GatewayLab.ServeTcp(_lab.Lan1, 8700, "filtered");
        using TcpListener other = GatewayLab.ServeTcp(_lab.Lan2, 8701, "other");
        Assert.Equal(8701, (await _lab.NatPmpcAsync(_lab.Lan2, 8701, 8701, "tcp", 3600)).PublicPort);

        // The packet that used to stop the gateway for good: one MAP, two FILTERs, one inside the other.
        PcpAnswer? map = await GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan, PcpMessage.Map(
            GatewayLab.Lan1Address, PcpMessage.Tcp, 8700, 8700, 3600, PcpMessage.NewNonce(),
            PcpMessage.Filter(IPAddress.Parse("203.0.113.0"), 24, 0), PcpMessage.Filter(IPAddress.Parse("203.0.113.0"), 25, 0)));
        Assert.Equal(PcpAnswer.Success, map!.Result);
        Assert.Equal("filtered", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8700, from: GatewayLab.WanHost));

        await Shell.CheckedAsync(_lab.Gw, "nft", "flush", "ruleset");
        await WaitForTableAsync("tcp . 8701");
        await WaitForTableAsync("tcp . 8700");
        Assert.Equal("other", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8701));
        Assert.Equal("filtered", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8700, from: GatewayLab.WanHost));

        await _lab.Daemon!.StopAsync();
        await _lab.Daemon.StartAsync();
        Assert.True(_lab.Daemon.IsRunning);
        Assert.Equal("other", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8701));
        Assert.Equal("filtered", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8700, from: GatewayLab.WanHost));
        Assert.DoesNotContain("not restored", _lab.Daemon.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GatewaysOwnListeners_TcpAndUdp_StayTheGateways()
    {
        // An sshd on TCP 2222 and a WireGuard-like socket on UDP 51820, both on every address of the gateway.
        using TcpListener ssh = GatewayLab.ServeTcp(_lab.Gw, 2222, "gateway-ssh");
        using Socket wireGuard = GatewayLab.Udp(_lab.Gw, 51820);
        using TcpListener lanService = GatewayLab.ServeTcp(_lab.Lan1, 2222, "lan-host");

        // NAT-PMP cannot insist: it gets another port.
        NatPmpcResult tcp = await _lab.NatPmpcAsync(_lab.Lan1, 2222, 2222, "tcp", 600);
        Assert.NotNull(tcp.PublicPort);
        Assert.NotEqual(2222, tcp.PublicPort);
        NatPmpcResult udp = await _lab.NatPmpcAsync(_lab.Lan1, 51820, 51820, "udp", 600);
        Assert.NotNull(udp.PublicPort);
        Assert.NotEqual(51820, udp.PublicPort);

        // PCP with PREFER_FAILURE gets the protocol's error.
        PcpAnswer? insisting = await GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan, PcpMessage.Map(
            GatewayLab.Lan1Address, PcpMessage.Tcp, 2223, 2222, 600, PcpMessage.NewNonce(), PcpMessage.PreferFailure()));
        Assert.Equal(PcpAnswer.CannotProvideExternal, insisting!.Result);

        // From the Internet the ports are still the gateway's; the host's mapping works on the port it was given.
        Assert.Equal("gateway-ssh", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 2222));
        Assert.Equal("lan-host", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, tcp.PublicPort!.Value));
        using Socket wan = GatewayLab.Udp(_lab.Wan);
        await wan.SendToAsync("handshake"u8.ToArray(), SocketFlags.None, new IPEndPoint(GatewayLab.External, 51820));
        var got = await GatewayLab.ReceiveAsync(wireGuard, TimeSpan.FromSeconds(2));
        Assert.Equal("handshake", Encoding.ASCII.GetString(got!.Value.Data));
    }

    [Fact]
    public async Task FloodFromSpoofedIPv6Sources_TheGatewayKeepsAnswering()
    {
        // 3,000 PCP MAP requests, each from another address of the LAN's prefix that no host answers for: their
        // answers wait in the kernel's neighbour queues and fill the socket's send buffer.
        await Shell.CheckedAsync(_lab.Lan1, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1");
        NetNs.Run(_lab.Lan1, () =>
        {
            for (int i = 0; i < 3000; i++)
            {
                var spoofed = new IPAddress([0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0, 0, 0, 0, 0, 0, 0x5b, (byte)(i >> 8), (byte)i, 1]);
                using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(new IPEndPoint(spoofed, 0));
                socket.SendTo(PcpMessage.Map(spoofed, PcpMessage.Udp, 7000, 7000, 600, PcpMessage.NewNonce()), new IPEndPoint(GatewayLab.GatewayLan6, 5351));
                if (i % 10 == 9)
                {
                    Thread.Sleep(10); // paced as a script would send them, so the daemon reads them all
                }
            }

            return 0;
        });

        // Well past the ~256 unresolvable answers a socket's send buffer holds, where a blocking send stalled the engine.
        var clock = Stopwatch.StartNew();
        while (System.Text.RegularExpressions.Regex.Count(_lab.Daemon!.Log, "Pcp Udp 7000 -> 2001:db8:77::5b") < 1000)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the daemon took {System.Text.RegularExpressions.Regex.Count(_lab.Daemon.Log, "Pcp Udp 7000 -> 2001:db8:77::5b")} of the flood's requests");
            await Task.Delay(50);
        }

        // A real host is still answered, and its mapping forwards.
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan2, 8730, "still-here");
        Assert.Equal(8730, (await _lab.NatPmpcAsync(_lab.Lan2, 8730, 8730, "tcp", 600)).PublicPort);
        Assert.Equal("still-here", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8730));
        Assert.True(_lab.Daemon!.IsRunning);
    }

    [Fact]
    public async Task StateWithAnUnreadableRecord_StillStarts_AndRestoresTheRest()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8720, "kept");
        Assert.Equal(8720, (await _lab.NatPmpcAsync(_lab.Lan1, 8720, 8720, "tcp", 3600)).PublicPort);
        await _lab.Daemon!.StopAsync();

        // A record with a valid CRC whose content this version cannot read (an unknown protocol number).
        byte[] payload = [1, 0, 0, 0, 0, 0, 0, 0, 99, 99, 0x22, 0x60, 4, 192, 168, 77, 10, 0x22, 0x60, 4, 192, 168, 77, 10, 0, 0, 0, 1];
        byte[] record = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(record, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(record.AsSpan(4), System.IO.Hashing.Crc32.HashToUInt32(payload));
        payload.CopyTo(record, 8);
        await File.AppendAllBytesAsync(Path.Combine(_lab.StateDirectory, "leases.journal"), record);

        await _lab.Daemon.StartAsync();
        Assert.Contains("journal records that could not be read", _lab.Daemon.Log, StringComparison.Ordinal);
        Assert.Equal("kept", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8720));
        Assert.Equal(8720, (await _lab.NatPmpcAsync(_lab.Lan1, 8720, 8720, "tcp", 3600)).PublicPort);
    }
}

/// <summary>Ending a lease ends what it admitted, not another host's flow that masquerade gave the same port.</summary>
public class LeaseEndLabTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public LeaseEndLabTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task LeaseRunsOutOnAnotherHostsMasqueradedPort_ThatFlowKeepsRunning()
    {
        // A WAN server that answers each line with the same line.
        TcpListener echo = NetNs.Run(_lab.Wan, () =>
        {
            var l = new TcpListener(GatewayLab.WanHost, 7100);
            l.Start();
            return l;
        });
        using var stopEcho = new CancellationTokenSource();
        _ = Task.Run(async () =>
        {
            using TcpClient peer = await echo.AcceptTcpClientAsync(stopEcho.Token);
            NetworkStream stream = peer.GetStream();
            byte[] buffer = new byte[256];
            int n;
            while ((n = await stream.ReadAsync(buffer, stopEcho.Token)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, n), stopEcho.Token);
            }
        });

        try
        {
            // LAN host 2 goes out from port 18900; masquerade keeps the port, so its flow uses external port 18900.
            using Socket outbound = NetNs.Run(_lab.Lan2, () =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(GatewayLab.Lan2Address, 18900));
                return s;
            });
            await outbound.ConnectAsync(GatewayLab.WanHost, 7100);
            Assert.Equal("one", await EchoAsync(outbound, "one"));

            // LAN host 1 takes external port 18900 with a 2-second lease and lets it run out.
            Assert.Equal(18900, (await _lab.NatPmpcAsync(_lab.Lan1, 18900, 8900, "tcp", 2)).PublicPort);
            await _lab.Daemon!.WaitForLogAsync("Tcp 18900 -> 192.168.77.10:8900 expired", TimeSpan.FromSeconds(6));
            await _lab.Daemon.WaitForLogAsync("conntrack flows of 1 ended mappings", TimeSpan.FromSeconds(3));

            // Host 2's connection is untouched: its conntrack entry (and its translation) are still there.
            Assert.Equal("two", await EchoAsync(outbound, "two"));
        }
        finally
        {
            await stopEcho.CancelAsync();
            echo.Stop();
        }
    }

    private static async Task<string?> EchoAsync(Socket socket, string text)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, cts.Token);
            byte[] buffer = new byte[256];
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Encoding.ASCII.GetString(buffer, 0, n);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return null;
        }
    }
}

/// <summary>Quotas count devices, not addresses; and the table as a whole has a limit.</summary>
public class DeviceQuotaLabTests : IClassFixture<DeviceQuotaLab>
{
    private readonly DeviceQuotaLab _lab;

    public DeviceQuotaLabTests(DeviceQuotaLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task OneDeviceWithSeveralIPv6Addresses_IsHeldToItsQuota_TotalLimitHoldsForAll()
    {
        // Four more (privacy-style) addresses on LAN host 1, each asking for two pinholes: 10 requests, quota 3.
        string[] extra = ["2001:db8:77::a1", "2001:db8:77::a2", "2001:db8:77::a3", "2001:db8:77::a4"];
        foreach (string address in extra)
        {
            await Shell.CheckedAsync(_lab.Lan1, "ip", "-6", "addr", "add", address + "/64", "dev", "eth0", "nodad");
        }

        var results = new List<byte>();
        foreach (IPAddress address in extra.Select(IPAddress.Parse).Prepend(GatewayLab.Lan1Address6))
        {
            for (ushort port = 8800; port < 8802; port++)
            {
                using Socket socket = GatewayLab.Udp(_lab.Lan1, address: address);
                await socket.SendToAsync(PcpMessage.Map(address, PcpMessage.Udp, port, port, 600, PcpMessage.NewNonce()), SocketFlags.None, new IPEndPoint(GatewayLab.GatewayLan6, 5351));
                var got = await GatewayLab.ReceiveAsync(socket, TimeSpan.FromSeconds(1));
                PcpAnswer? answer = got is { } g ? PcpMessage.Parse(g.Data) : null;
                Assert.True(answer is not null, $"no answer to {address} port {port}: {(got is { } x ? Convert.ToHexString(x.Data) + " from " + x.From : "nothing")}\n{_lab.Daemon!.Log}");
                results.Add(answer.Result);
            }
        }

        const byte UserExceededQuota = 10;
        Assert.Equal(3, results.Count(r => r == PcpAnswer.Success));
        Assert.Equal(7, results.Count(r => r == UserExceededQuota));

        // Another device is not charged for it, up to the total limit (5): then everyone is refused.
        Assert.Equal(9000, (await _lab.NatPmpcAsync(_lab.Lan2, 9000, 9000, "udp", 600)).PublicPort);
        Assert.Equal(9001, (await _lab.NatPmpcAsync(_lab.Lan2, 9001, 9001, "udp", 600)).PublicPort);
        byte[] request = [0, 1, 0, 0, 0x23, 0x2a, 0x23, 0x2a, 0, 0, 2, 0x58]; // NAT-PMP map UDP 9002 for 600 s
        byte[]? beyond = await GatewayLab.NatPmpExchangeAsync(_lab.Lan2, GatewayLab.GatewayLan, request);
        Assert.Equal(4, BinaryPrimitives.ReadUInt16BigEndian(beyond.AsSpan(2))); // Out of resources
    }
}

/// <summary>A lab whose daemon allows each device 3 leases and the whole gateway 5.</summary>
public sealed class DeviceQuotaLab : GatewayLab
{
    public DeviceQuotaLab()
    {
        ConfigJson = """{ "maxLeasesPerClient": 3, "maxLeases": 5 }""";
    }
}
