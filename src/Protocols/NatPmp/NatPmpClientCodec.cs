using System.Buffers.Binary;
using System.Net;

namespace PortMapper.Protocols.NatPmp;

/// <summary>
/// The client's half of NAT-PMP (RFC 6886): the requests a gateway sends to the NAT upstream of it, and the
/// answers it reads back. Answers are checked as a client must (§3.5): version 0, the response opcode of the
/// request, the full length; anything else is not an answer.
/// </summary>
public static class NatPmpClientCodec
{
    /// <summary>Writes the external address request (§3.2): two octets.</summary>
    public static int WriteExternalAddressRequest(Span<byte> destination)
    {
        destination[0] = 0;
        destination[1] = (byte)NatPmpOpcode.ExternalAddress;
        return NatPmpCodec.ExternalAddressRequestLength;
    }

    /// <summary>Writes a map request (§3.3); lifetime 0 deletes the mapping of <paramref name="internalPort"/>.</summary>
    public static int WriteMapRequest(Span<byte> destination, bool tcp, ushort internalPort, ushort suggestedExternalPort, uint lifetime)
    {
        destination[..NatPmpCodec.MapRequestLength].Clear();
        destination[1] = (byte)(tcp ? NatPmpOpcode.MapTcp : NatPmpOpcode.MapUdp);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], suggestedExternalPort);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], lifetime);
        return NatPmpCodec.MapRequestLength;
    }

    /// <summary>
    /// Reads the answer to an external address request. A non-zero result carries no address (it may be as
    /// short as the error layout); a success must hold one.
    /// </summary>
    public static bool TryReadExternalAddressResponse(ReadOnlySpan<byte> datagram, out NatPmpResultCode result, out uint epoch, out IPAddress? address)
    {
        result = default;
        epoch = 0;
        address = null;
        if (!TryReadHeader(datagram, NatPmpOpcode.ExternalAddress, out result, out epoch))
        {
            return false;
        }

        if (result != NatPmpResultCode.Success)
        {
            return true;
        }

        if (datagram.Length < NatPmpCodec.ExternalAddressResponseLength)
        {
            return false;
        }

        address = new IPAddress(datagram.Slice(8, 4));
        return true;
    }

    /// <summary>Reads the answer to a map request of <paramref name="tcp"/>'s protocol.</summary>
    public static bool TryReadMapResponse(ReadOnlySpan<byte> datagram, bool tcp, out NatPmpMapAnswer answer)
    {
        answer = default;
        if (!TryReadHeader(datagram, tcp ? NatPmpOpcode.MapTcp : NatPmpOpcode.MapUdp, out NatPmpResultCode result, out uint epoch))
        {
            return false;
        }

        if (datagram.Length < NatPmpCodec.MapResponseLength)
        {
            // An error may come in the short layout; it names no port, so it answers any request of the protocol.
            answer = new NatPmpMapAnswer(result, epoch, 0, 0, 0);
            return result != NatPmpResultCode.Success;
        }

        answer = new NatPmpMapAnswer(
            result,
            epoch,
            BinaryPrimitives.ReadUInt16BigEndian(datagram[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(datagram[10..]),
            BinaryPrimitives.ReadUInt32BigEndian(datagram[12..]));
        return true;
    }

    private static bool TryReadHeader(ReadOnlySpan<byte> datagram, NatPmpOpcode request, out NatPmpResultCode result, out uint epoch)
    {
        result = default;
        epoch = 0;
        if (datagram.Length < NatPmpCodec.ErrorResponseLength || datagram[0] != 0 || datagram[1] != NatPmpCodec.ResponseBit + (byte)request)
        {
            return false;
        }

        result = (NatPmpResultCode)BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        epoch = BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]);
        return true;
    }
}

/// <summary>A NAT-PMP map answer as the client reads it: result, epoch, internal and mapped port, lifetime.</summary>
public readonly record struct NatPmpMapAnswer(NatPmpResultCode Result, uint EpochSeconds, ushort InternalPort, ushort ExternalPort, uint LifetimeSeconds);
