using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>RFC 6886 cases against the running daemon, with raw datagrams from the lab's namespaces.</summary>
public class NatPmpRfcTests : IClassFixture<QuotaLab>
{
    private readonly QuotaLab _lab;

    public NatPmpRfcTests(QuotaLab lab)
    {
        _lab = lab;
    }

    private Task<byte[]?> AskAsync(byte[] request, string? ns = null) =>
        GatewayLab.NatPmpExchangeAsync(ns ?? _lab.Lan1, GatewayLab.GatewayLan, request);

    private static byte[] MapRequest(byte opcode, ushort internalPort, ushort suggested, uint lifetime)
    {
        byte[] r = new byte[12];
        r[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(4), internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(6), suggested);
        BinaryPrimitives.WriteUInt32BigEndian(r.AsSpan(8), lifetime);
        return r;
    }

    private static ushort Result(byte[] reply) => BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2));

    private static uint Epoch(byte[] reply) => BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4));

    [Fact]
    public async Task ExternalAddress_ReportsWanAddressSuccess()
    {
        byte[]? reply = await AskAsync([0, 0]);
        Assert.NotNull(reply);
        Assert.Equal(12, reply.Length);
        Assert.Equal([0, 128, 0, 0], reply[..4]);
        Assert.Equal(GatewayLab.External, new IPAddress(reply.AsSpan(8, 4)));
    }

    [Theory]
    [InlineData(new byte[] { 0, 3 }, 131, 5)]
    [InlineData(new byte[] { 0, 127, 0, 0, 0, 0, 0, 0 }, 255, 5)]
    public async Task UnsupportedVersionOrOpcode_AnsweredWithResultCode(byte[] request, int opcode, int result)
    {
        byte[]? reply = await AskAsync(request);
        Assert.NotNull(reply);
        Assert.Equal(8, reply.Length);
        Assert.Equal(opcode, reply[1]);
        Assert.Equal(result, Result(reply));
    }

    [Fact]
    public async Task OtherVersions_GetPcpAnswers_Version1UnsupportedCarrying2()
    {
        // Port 5351 is shared with PCP (RFC 6887 Appendix A): version 0 is NAT-PMP, the rest is PCP's to answer.
        byte[]? v1 = await AskAsync([1, 0]);
        Assert.NotNull(v1);
        Assert.Equal(24, v1.Length);
        Assert.Equal([2, 128, 0, 1], v1[..4]);

        byte[]? shortPcp = await AskAsync([2, 1, 0, 0]);
        Assert.Equal([2, 129, 0, 3], shortPcp![..4]); // MALFORMED_REQUEST
    }

    [Fact]
    public async Task ShortOrResponsePackets_Silence_AndTheDaemonKeepsServing()
    {
        byte[] map = MapRequest(2, 40000, 40000, 60);
        var silentOnes = new List<byte[]> { Array.Empty<byte>(), new byte[] { 0 }, new byte[] { 0, 128 }, new byte[] { 0, 130, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } };
        for (int length = 2; length < map.Length; length++)
        {
            silentOnes.Add(map[..length]);
        }

        foreach (byte[] request in silentOnes)
        {
            Assert.Null(await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, request, TimeSpan.FromMilliseconds(300)));
        }

        Assert.NotNull(await AskAsync([0, 0]));
        Assert.DoesNotContain("tcp . 40000", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestsFromTheWan_Silence_EvenToTheLanAddress()
    {
        await Shell.InNamespaceAsync(_lab.Wan, "ip", "route", "replace", "192.168.77.0/24", "via", "203.0.113.1");
        byte[] map = MapRequest(1, 41000, 41000, 600);
        Assert.Null(await GatewayLab.NatPmpExchangeAsync(_lab.Wan, GatewayLab.External, [0, 0]));
        Assert.Null(await GatewayLab.NatPmpExchangeAsync(_lab.Wan, GatewayLab.External, map));
        Assert.Null(await GatewayLab.NatPmpExchangeAsync(_lab.Wan, GatewayLab.GatewayLan, [0, 0]));
        Assert.Null(await GatewayLab.NatPmpExchangeAsync(_lab.Wan, GatewayLab.GatewayLan, map));
        Assert.DoesNotContain("41000", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        Assert.NotNull(await AskAsync([0, 0]));
    }

    [Fact]
    public async Task PrivilegedInternalPort_NotAuthorized()
    {
        byte[]? reply = await AskAsync(MapRequest(2, 80, 80, 600), _lab.Lan2);
        Assert.NotNull(reply);
        Assert.Equal(16, reply.Length);
        Assert.Equal(2, Result(reply));
        Assert.Equal(80, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(8)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(10)));
    }

    [Fact]
    public async Task QuotaReached_OutOfResources_ThenDeleteAllFreesIt()
    {
        string host = _lab.Lan2;
        for (ushort port = 42000; port < 42003; port++)
        {
            byte[]? ok = await AskAsync(MapRequest(1, port, port, 600), host);
            Assert.Equal(0, Result(ok!));
        }

        byte[]? refused = await AskAsync(MapRequest(1, 42003, 42003, 600), host);
        Assert.Equal(4, Result(refused!));

        // Delete all of this client's UDP mappings: internal port 0, lifetime 0 (RFC 6886 §3.4).
        byte[]? deleted = await AskAsync(MapRequest(1, 0, 0, 0), host);
        Assert.Equal(0, Result(deleted!));
        Assert.DoesNotContain("udp . 4200", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        Assert.Equal(0, Result((await AskAsync(MapRequest(1, 42003, 42003, 600), host))!));
        Assert.Equal(0, Result((await AskAsync(MapRequest(1, 0, 0, 0), host))!));
    }

    [Fact]
    public async Task Epoch_CountsSecondsSinceStart()
    {
        uint first = Epoch((await AskAsync([0, 0]))!);
        await Task.Delay(2100);
        uint second = Epoch((await AskAsync([0, 0]))!);
        Assert.InRange(second - first, 2u, 3u);
    }

    [Fact]
    public async Task RandomGarbage_NeverCrashesTheDaemon()
    {
        var random = new Random(5351);
        using Socket socket = GatewayLab.Udp(_lab.Lan1);
        for (int i = 0; i < 2000; i++)
        {
            byte[] junk = new byte[random.Next(0, 64)];
            random.NextBytes(junk);
            if (junk.Length > 0 && i % 3 == 0)
            {
                junk[0] = 0; // a NAT-PMP version, so the rest reaches the opcode and field checks
            }

            await socket.SendToAsync(junk, SocketFlags.None, new IPEndPoint(GatewayLab.GatewayLan, 5351));
        }

        await _lab.Daemon!.WaitForLogAsync("NAT-PMP: dropped a datagram", TimeSpan.FromSeconds(5));
        Assert.True(_lab.Daemon.IsRunning);

        // And it serves this host again once its rate limit (which the flood spent) has refilled.
        byte[]? answer = null;
        for (int attempt = 0; attempt < 10 && answer is null; attempt++)
        {
            answer = await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, [0, 0]);
        }

        Assert.NotNull(answer);
        Assert.Equal(128, answer[1]);
        Assert.NotNull(await AskAsync([0, 0], _lab.Lan2));
    }
}
