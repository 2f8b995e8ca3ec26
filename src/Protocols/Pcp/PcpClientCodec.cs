using System.Buffers.Binary;
using System.Net;

namespace PortMapper.Protocols.Pcp;

/// <summary>
/// The client's half of PCP (RFC 6887): the MAP requests a gateway sends to the PCP server upstream of it, and
/// the answers it reads back (§7.1, §11.1). An answer is taken only as a client must (§8.3, §11.3): version 2,
/// the response bit, the request's opcode, and for MAP the same nonce, protocol and internal port.
/// </summary>
public static class PcpClientCodec
{
    /// <summary>The length of a MAP request with a DESCRIPTION option of <paramref name="description"/>'s length (0: none).</summary>
    public static int MapRequestLength(int descriptionBytes) =>
        PcpCodec.HeaderLength + PcpCodec.MapDataLength + (descriptionBytes > 0 ? 4 + ((descriptionBytes + 3) & ~3) : 0);

    /// <summary>
    /// Writes a MAP request (§11.1) from <paramref name="client"/> (the address the server sees the request come
    /// from). Lifetime 0 deletes. The description, if any, goes in a DESCRIPTION option (RFC 7220).
    /// </summary>
    public static int WriteMapRequest(
        Span<byte> destination,
        IPAddress client,
        ReadOnlySpan<byte> nonce,
        byte protocol,
        ushort internalPort,
        ushort suggestedExternalPort,
        IPAddress suggestedExternalAddress,
        uint lifetime,
        string? description = null)
    {
        destination[..PcpCodec.HeaderLength].Clear();
        destination[0] = PcpCodec.Version;
        destination[1] = (byte)PcpOpcode.Map;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], lifetime);
        PcpCodec.ToWire(client, destination.Slice(8, 16));
        int n = PcpCodec.HeaderLength;
        n += PcpCodec.WriteMapData(destination[n..], nonce, protocol, internalPort, suggestedExternalPort, suggestedExternalAddress);
        if (!string.IsNullOrEmpty(description))
        {
            n += PcpCodec.WriteDescription(destination[n..], description);
        }

        return n;
    }

    /// <summary>Writes an ANNOUNCE request (§14.1): the header alone, lifetime 0; a server answers it with its epoch.</summary>
    public static int WriteAnnounceRequest(Span<byte> destination, IPAddress client)
    {
        destination[..PcpCodec.HeaderLength].Clear();
        destination[0] = PcpCodec.Version;
        destination[1] = (byte)PcpOpcode.Announce;
        PcpCodec.ToWire(client, destination.Slice(8, 16));
        return PcpCodec.HeaderLength;
    }

    /// <summary>
    /// Reads a response header (§7.2): the opcode it answers, its result, lifetime and epoch. False for anything
    /// that is not a PCP version 2 response.
    /// </summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> datagram, out PcpOpcode opcode, out PcpResultCode result, out uint lifetime, out uint epoch)
    {
        opcode = default;
        result = default;
        lifetime = 0;
        epoch = 0;
        if (datagram.Length < PcpCodec.HeaderLength || datagram.Length > PcpCodec.MaxMessageLength || datagram.Length % 4 != 0
            || datagram[0] != PcpCodec.Version || (datagram[1] & PcpCodec.ResponseBit) == 0)
        {
            return false;
        }

        opcode = (PcpOpcode)(datagram[1] & 0x7F);
        result = (PcpResultCode)datagram[3];
        lifetime = BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]);
        epoch = BinaryPrimitives.ReadUInt32BigEndian(datagram[8..]);
        return true;
    }

    /// <summary>
    /// Whether an answer says the server speaks only NAT-PMP (RFC 6887 Appendix A / RFC 6886 §3.5): version 0
    /// with result 1, UNSUPPORTED VERSION.
    /// </summary>
    public static bool IsNatPmpOnly(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= 4 && datagram[0] == 0 && (datagram[1] & PcpCodec.ResponseBit) != 0 && BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]) == 1;

    /// <summary>
    /// Reads the answer to a MAP request: only one that carries the request's nonce, protocol and internal port
    /// (§11.3: anything else is not an answer to it). An error answer may come without MAP data only if it is
    /// UNSUPP_VERSION or MALFORMED_REQUEST (§7.2: the server may not have parsed the request).
    /// </summary>
    public static bool TryReadMapResponse(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> nonce, byte protocol, ushort internalPort, out PcpMapAnswer answer)
    {
        answer = default;
        if (!TryReadHeader(datagram, out PcpOpcode opcode, out PcpResultCode result, out uint lifetime, out uint epoch) || opcode != PcpOpcode.Map)
        {
            return false;
        }

        if (datagram.Length < PcpCodec.HeaderLength + PcpCodec.MapDataLength)
        {
            answer = new PcpMapAnswer(result, lifetime, epoch, 0, IPAddress.Any);
            return result is PcpResultCode.UnsupportedVersion or PcpResultCode.MalformedRequest;
        }

        ReadOnlySpan<byte> data = datagram[PcpCodec.HeaderLength..];
        if (!data[..PcpCodec.NonceLength].SequenceEqual(nonce) || data[12] != protocol || BinaryPrimitives.ReadUInt16BigEndian(data[16..]) != internalPort)
        {
            return false;
        }

        answer = new PcpMapAnswer(result, lifetime, epoch, BinaryPrimitives.ReadUInt16BigEndian(data[18..]), PcpCodec.FromWire(data.Slice(20, 16)));
        return true;
    }
}

/// <summary>A PCP MAP answer as the client reads it: result, lifetime, epoch, assigned external port and address.</summary>
public readonly record struct PcpMapAnswer(PcpResultCode Result, uint LifetimeSeconds, uint EpochSeconds, ushort ExternalPort, IPAddress ExternalAddress);
