using System.Buffers.Binary;
using System.Net;

namespace PortMapper.Conformance.Tool;

/// <summary>A NAT-PMP answer as RFC 6886 §3.2 and §3.3 lay it out (external address or mapping fields).</summary>
internal sealed record NatPmpAnswer(byte Version, byte Opcode, ushort Result, uint Epoch, IPAddress? External, ushort InternalPort, ushort ExternalPort, uint Lifetime, int Length)
{
    public override string ToString() =>
        $"{Length} octets, version {Version}, opcode {Opcode}, result {Result}, epoch {Epoch}"
        + (Length == 12 ? $", address {External}" : Length >= 16 ? $", internal {InternalPort}, external {ExternalPort}, lifetime {Lifetime}" : string.Empty);
}

/// <summary>NAT-PMP requests and answers, written from RFC 6886's diagrams (independent of any server's codec).</summary>
internal static class NatPmpWire
{
    public const byte Udp = 1;
    public const byte Tcp = 2;

    public static byte[] ExternalAddressRequest() => [0, 0];

    /// <summary>§3.3: version 0, opcode 1 (UDP) or 2 (TCP), 16 reserved bits, internal port, suggested external port, lifetime.</summary>
    public static byte[] MapRequest(byte opcode, ushort internalPort, ushort suggestedPort, uint lifetime)
    {
        byte[] request = new byte[12];
        request[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), suggestedPort);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(8), lifetime);
        return request;
    }

    public static NatPmpAnswer? Parse(byte[]? reply)
    {
        if (reply is null || reply.Length < 8)
        {
            return null;
        }

        ushort result = BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2));
        uint epoch = BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4));
        if (reply.Length >= 16)
        {
            return new NatPmpAnswer(reply[0], reply[1], result, epoch, null, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(8)),
                BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(10)), BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(12)), reply.Length);
        }

        return new NatPmpAnswer(reply[0], reply[1], result, epoch, reply.Length >= 12 ? new IPAddress(reply.AsSpan(8, 4)) : null, 0, 0, 0, reply.Length);
    }
}
