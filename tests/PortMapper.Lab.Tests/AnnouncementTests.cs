using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// RFC 6886 §3.2.1: at start, ten announcements to 224.0.0.1:5350 on each LAN interface, the first
/// interval 250 ms and each following interval doubled, about two minutes in all.
/// </summary>
public class AnnouncementTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public AnnouncementTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task Start_TenAnnouncementsWithDoublingIntervals_HeardOnTheLanOnly()
    {
        await _lab.Daemon!.StopAsync();
        using Socket lan = GatewayLab.Udp(_lab.Lan2, 5350);
        using Socket lan6 = GatewayLab.Udp(_lab.Lan2, 5350, IPAddress.IPv6Any);
        using Socket wan = GatewayLab.Udp(_lab.Wan, 5350);
        using Socket wan6 = GatewayLab.Udp(_lab.Wan, 5350, IPAddress.IPv6Any);

        // Arrival times are taken by a receiver that runs from before the start: the daemon sends its first round
        // before the test has seen its "listeners are up" line, so reading only after the start would time the
        // first packet late.
        var clock = Stopwatch.StartNew();
        var arrivals = System.Threading.Channels.Channel.CreateUnbounded<((byte[] Data, IPEndPoint From) Packet, TimeSpan At)>();
        using var stopReceiving = new CancellationTokenSource();
        Task receiver = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            try
            {
                while (true)
                {
                    SocketReceiveFromResult r = await lan.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), stopReceiving.Token);
                    arrivals.Writer.TryWrite(((buffer[..r.ReceivedBytes], (IPEndPoint)r.RemoteEndPoint), clock.Elapsed));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        await _lab.Daemon.StartAsync();

        // Each round carries NAT-PMP's external-address response and PCP's unsolicited ANNOUNCE.
        var natPmp = new List<TimeSpan>();
        int pcp = 0;
        while ((natPmp.Count < 10 || pcp < 10) && clock.Elapsed < TimeSpan.FromSeconds(150))
        {
            using var silence = new CancellationTokenSource(TimeSpan.FromSeconds(70));
            var arrival = await arrivals.Reader.ReadAsync(silence.Token); // throws after 70 s without a packet
            Assert.Equal(new IPEndPoint(GatewayLab.GatewayLan, 5351), arrival.Packet.From);
            byte[] data = arrival.Packet.Data;
            if (data[0] == 2)
            {
                Assert.Equal(24, data.Length);
                Assert.Equal([2, 128, 0, 0, 0, 0, 0, 0], data[..8]); // ANNOUNCE response, SUCCESS, lifetime 0
                pcp++;
                continue;
            }

            Assert.Equal(12, data.Length);
            Assert.Equal([0, 128, 0, 0], data[..4]);
            Assert.Equal(GatewayLab.External, new IPAddress(data.AsSpan(8, 4)));
            natPmp.Add(arrival.At);
        }

        Assert.Equal(10, natPmp.Count);
        Assert.Equal(10, pcp);
        for (int i = 1; i < natPmp.Count; i++)
        {
            double expected = 0.25 * Math.Pow(2, i - 1);
            double actual = (natPmp[i] - natPmp[i - 1]).TotalSeconds;
            Assert.InRange(actual, expected * 0.8, (expected * 1.2) + 0.1);
        }

        // The same rounds carried PCP's ANNOUNCE to ff02::1 on the LAN.
        int pcp6 = 0;
        while (await GatewayLab.ReceiveAsync(lan6, TimeSpan.FromMilliseconds(200)) is { } packet6)
        {
            Assert.Equal([2, 128, 0, 0], packet6.Data[..4]);
            Assert.Equal(24, packet6.Data.Length);
            pcp6++;
        }

        Assert.Equal(10, pcp6);

        // No eleventh, and nothing ever reached the WAN side.
        await Task.Delay(TimeSpan.FromSeconds(3)); // the tenth arrived: three more seconds without an eleventh
        Assert.False(arrivals.Reader.TryRead(out _));
        await stopReceiving.CancelAsync();
        await receiver;
        Assert.Null(await GatewayLab.ReceiveAsync(wan, TimeSpan.FromMilliseconds(100)));
        Assert.Null(await GatewayLab.ReceiveAsync(wan6, TimeSpan.FromMilliseconds(100)));
    }
}

/// <summary>The WAN address changes: rules follow it, the epoch restarts, and the change is announced.</summary>
public class ExternalAddressChangeTests : IClassFixture<GatewayLab>
{
    private static readonly IPAddress s_newAddress = IPAddress.Parse("203.0.113.5");

    private readonly GatewayLab _lab;

    public ExternalAddressChangeTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task WanAddressChanges_MappingMovesEpochResetsAndItIsAnnounced()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 6500, "moved");
        Assert.Equal(6500, (await _lab.NatPmpcAsync(_lab.Lan1, 6500, 6500, "tcp", 3600)).PublicPort);
        await Task.Delay(2100);
        using Socket listener = GatewayLab.Udp(_lab.Lan2, 5350);

        // As a new DHCP lease does it: the old address goes, the new one comes, the default route is set again.
        await Shell.CheckedAsync(_lab.Gw, "ip", "addr", "del", "203.0.113.1/24", "dev", "wan0");
        await Shell.CheckedAsync(_lab.Gw, "ip", "addr", "add", "203.0.113.5/24", "dev", "wan0");
        await Shell.CheckedAsync(_lab.Gw, "ip", "route", "replace", "default", "via", "203.0.113.2", "dev", "wan0");

        // The start-up sequence may still be running; wait for the first packet naming the new address.
        byte[]? announced = null;
        var clock = Stopwatch.StartNew();
        while (announced is null && clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            var packet = await GatewayLab.ReceiveAsync(listener, TimeSpan.FromSeconds(3));
            if (packet is { } p && new IPAddress(p.Data.AsSpan(8, 4)).Equals(s_newAddress))
            {
                announced = p.Data;
            }
        }

        Assert.NotNull(announced);
        Assert.InRange(BinaryPrimitives.ReadUInt32BigEndian(announced.AsSpan(4)), 0u, 1u);

        byte[]? reply = await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, [0, 0]);
        Assert.Equal(s_newAddress, new IPAddress(reply!.AsSpan(8, 4)));
        Assert.Equal("moved", await GatewayLab.TryTcpAsync(_lab.Wan, s_newAddress, 6500));
        await _lab.Daemon!.WaitForLogAsync(" to 203.0.113.5: epoch reset", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task WanAddressGone_NetworkFailure_ThenBackAgain()
    {
        string address = (await Shell.CheckedAsync(_lab.Gw, "ip", "-4", "-o", "addr", "show", "dev", "wan0")).Output.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        await Shell.CheckedAsync(_lab.Gw, "ip", "addr", "flush", "dev", "wan0");
        try
        {
            byte[]? reply = null;
            for (int i = 0; i < 20 && (reply is null || reply[3] != 3); i++)
            {
                await Task.Delay(100);
                reply = await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, [0, 0]);
            }

            // RFC 6886 §3.5: 3 - Network Failure; the address field reads 0.0.0.0.
            Assert.Equal([0, 128, 0, 3], reply![..4]);
            Assert.Equal([0, 0, 0, 0], reply[8..12]);
            byte[]? map = await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, [0, 2, 0, 0, 0x21, 0x34, 0x21, 0x34, 0, 0, 2, 0x58]);
            Assert.Equal([0, 130, 0, 3], map![..4]);
        }
        finally
        {
            await Shell.CheckedAsync(_lab.Gw, "ip", "addr", "add", address, "dev", "wan0");
            await Shell.CheckedAsync(_lab.Gw, "ip", "route", "replace", "default", "via", "203.0.113.2", "dev", "wan0");
        }

        await Task.Delay(300);
        byte[]? back = await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, [0, 0]);
        Assert.Equal([0, 128, 0, 0], back![..4]);
    }
}
