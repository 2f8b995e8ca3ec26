using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace PortMapper.Conformance.PcpClient;

/// <summary>
/// A PCP client's side of RFC 6887, written from the RFC's diagrams for the conformance suite (Debian ships
/// no PCP client). Independent of the daemon's own codec, so a bug shared by both sides cannot hide.
/// </summary>
public static class PcpMessage
{
    public const byte Tcp = 6;
    public const byte Udp = 17;

    /// <summary>MAP request: 24-octet header, 36 octets of MAP data, then options.</summary>
    public static byte[] Map(IPAddress client, byte protocol, ushort internalPort, ushort suggestedPort, uint lifetime, byte[] nonce, params byte[][] options) =>
        [.. Header(1, lifetime, client), .. MapData(nonce, protocol, internalPort, suggestedPort, IPAddress.IPv6Any), .. options.SelectMany(o => o)];

    /// <summary>PEER request: MAP's data plus the remote peer's port and address.</summary>
    public static byte[] Peer(IPAddress client, byte protocol, ushort internalPort, ushort suggestedPort, uint lifetime, byte[] nonce, IPEndPoint remote)
    {
        byte[] tail = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(tail, (ushort)remote.Port);
        Wire(remote.Address).CopyTo(tail, 4);
        return [.. Header(2, lifetime, client), .. MapData(nonce, protocol, internalPort, suggestedPort, IPAddress.IPv6Any), .. tail];
    }

    public static byte[] Announce(IPAddress client) => Header(0, 0, client);

    public static byte[] ThirdParty(IPAddress address) => Option(1, Wire(address));

    public static byte[] PreferFailure() => Option(2, []);

    /// <summary>FILTER: Reserved, Prefix Length (on the 128-bit form: IPv4 prefixes add 96), Remote Peer Port, Remote Peer IP.</summary>
    public static byte[] Filter(IPAddress address, int prefixLength, ushort port)
    {
        byte[] data = new byte[20];
        data[1] = (byte)(prefixLength + (address.AddressFamily == AddressFamily.InterNetwork ? 96 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(2), port);
        Wire(address).CopyTo(data, 4);
        return Option(3, data);
    }

    public static byte[] NewNonce() => System.Security.Cryptography.RandomNumberGenerator.GetBytes(12);

    public static PcpAnswer? Parse(ReadOnlySpan<byte> reply)
    {
        if (reply.Length < 24 || (reply[1] & 0x80) == 0)
        {
            return null;
        }

        byte opcode = (byte)(reply[1] & 0x7F);
        uint lifetime = BinaryPrimitives.ReadUInt32BigEndian(reply[4..]);
        uint epoch = BinaryPrimitives.ReadUInt32BigEndian(reply[8..]);
        if (reply.Length < 60)
        {
            return new PcpAnswer(reply[0], opcode, reply[3], lifetime, epoch, [], 0, 0, 0, IPAddress.IPv6Any, reply.Length);
        }

        var external = new IPAddress(reply.Slice(44, 16));
        return new PcpAnswer(
            reply[0], opcode, reply[3], lifetime, epoch, reply.Slice(24, 12).ToArray(), reply[36],
            BinaryPrimitives.ReadUInt16BigEndian(reply[40..]), BinaryPrimitives.ReadUInt16BigEndian(reply[42..]),
            external.IsIPv4MappedToIPv6 ? external.MapToIPv4() : external, reply.Length);
    }

    /// <summary>Sends one request and waits for the answer; null on silence.</summary>
    public static async Task<PcpAnswer?> AskAsync(Socket socket, IPEndPoint server, byte[] request, TimeSpan timeout)
    {
        await socket.SendToAsync(request, SocketFlags.None, server);
        byte[] buffer = new byte[1100];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Parse(buffer.AsSpan(0, n));
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static byte[] Header(byte opcode, uint lifetime, IPAddress client)
    {
        byte[] h = new byte[24];
        h[0] = 2;
        h[1] = opcode;
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), lifetime);
        Wire(client).CopyTo(h, 8);
        return h;
    }

    private static byte[] MapData(byte[] nonce, byte protocol, ushort internalPort, ushort suggestedPort, IPAddress suggestedAddress)
    {
        byte[] d = new byte[36];
        nonce.CopyTo(d, 0);
        d[12] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(16), internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(18), suggestedPort);
        Wire(suggestedAddress).CopyTo(d, 20);
        return d;
    }

    public static byte[] Option(byte code, byte[] data)
    {
        byte[] o = new byte[4 + ((data.Length + 3) & ~3)];
        o[0] = code;
        BinaryPrimitives.WriteUInt16BigEndian(o.AsSpan(2), (ushort)data.Length);
        data.CopyTo(o, 4);
        return o;
    }

    private static byte[] Wire(IPAddress address) =>
        (address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address).GetAddressBytes();
}
