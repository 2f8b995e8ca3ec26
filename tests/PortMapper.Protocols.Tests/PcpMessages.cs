using System.Buffers.Binary;
using System.Net;

namespace PortMapper.Protocols.Tests;

/// <summary>Builds PCP requests field by field from the RFC 6887 §7.1/§11.1/§12.1 diagrams (not with the codec under test).</summary>
internal static class PcpMessages
{
    public const string Nonce = "0102030405060708090a0b0c";

    public static byte[] Header(byte version, byte opcode, uint lifetime, string client)
    {
        byte[] h = new byte[24];
        h[0] = version;
        h[1] = opcode;
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), lifetime);
        Address(client).CopyTo(h, 8);
        return h;
    }

    public static byte[] MapData(byte protocol, ushort internalPort, ushort suggestedPort, string suggested = "::")
    {
        byte[] d = new byte[36];
        Hex.Bytes(Nonce).CopyTo(d, 0);
        d[12] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(16), internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(18), suggestedPort);
        Address(suggested).CopyTo(d, 20);
        return d;
    }

    public static byte[] PeerTail(ushort remotePort, string remote)
    {
        byte[] d = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(d, remotePort);
        Address(remote).CopyTo(d, 4);
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

    public static byte[] Filter(byte prefixLength, ushort port, string address)
    {
        byte[] d = new byte[20];
        d[1] = prefixLength;
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), port);
        Address(address).CopyTo(d, 4);
        return Option(3, d);
    }

    public static byte[] Map(uint lifetime, byte protocol, ushort internalPort, ushort suggested, string client = "192.168.77.10", params byte[][] options) =>
        [.. Header(2, 1, lifetime, client), .. MapData(protocol, internalPort, suggested), .. options.SelectMany(o => o)];

    /// <summary>A 128-bit PCP address: IPv4 as ::ffff:a.b.c.d.</summary>
    public static byte[] Address(string text)
    {
        IPAddress a = IPAddress.Parse(text);
        return (a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? a.MapToIPv6() : a).GetAddressBytes();
    }
}
