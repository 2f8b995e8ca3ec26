using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace PortMapper.Protocols.NatPmp;

/// <summary>NAT-PMP wire format (RFC 6886). All multi-octet fields are big-endian.</summary>
public static class NatPmpCodec
{
    /// <summary>The server's port, to which clients send requests (§3).</summary>
    public const int ServerPort = 5351;

    /// <summary>The port to which announcements are multicast (§3.2.1).</summary>
    public const int ClientPort = 5350;

    public const int ExternalAddressRequestLength = 2;
    public const int MapRequestLength = 12;
    public const int ExternalAddressResponseLength = 12;
    public const int MapResponseLength = 16;
    public const int ErrorResponseLength = 8;

    /// <summary>Offset added to a request opcode to form its response opcode (§3.2).</summary>
    public const byte ResponseBit = 128;

    /// <summary>
    /// Decodes a request datagram. Request layouts:
    /// <code>
    /// External address (§3.2)        Map (§3.3)
    /// +--------+--------+            +--------+--------+--------+--------+
    /// | Vers=0 | OP = 0 |            | Vers=0 | OP=1,2 |    Reserved     |
    /// +--------+--------+            +--------+--------+--------+--------+
    ///                                |  Internal Port  | Suggested Ext.  |
    ///                                +--------+--------+--------+--------+
    ///                                | Requested Port Mapping Lifetime   |
    ///                                +--------+--------+--------+--------+
    /// </code>
    /// Bytes beyond an opcode's length are ignored, as later versions of a message may add fields.
    /// </summary>
    public static NatPmpDecodeResult Decode(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < ExternalAddressRequestLength)
        {
            return new(default, NatPmpDecodeError.TooShort);
        }

        byte version = datagram[0];
        byte opcode = datagram[1];
        var header = new NatPmpRequest(version, opcode, 0, 0, 0);

        if (opcode >= ResponseBit)
        {
            return new(header, NatPmpDecodeError.NotARequest);
        }

        if (version != 0)
        {
            return new(header, NatPmpDecodeError.UnsupportedVersion);
        }

        switch ((NatPmpOpcode)opcode)
        {
            case NatPmpOpcode.ExternalAddress:
                return new(header, NatPmpDecodeError.None);
            case NatPmpOpcode.MapUdp:
            case NatPmpOpcode.MapTcp:
                if (datagram.Length < MapRequestLength)
                {
                    return new(header, NatPmpDecodeError.TooShort);
                }

                return new(
                    header with
                    {
                        InternalPort = BinaryPrimitives.ReadUInt16BigEndian(datagram[4..]),
                        SuggestedExternalPort = BinaryPrimitives.ReadUInt16BigEndian(datagram[6..]),
                        RequestedLifetimeSeconds = BinaryPrimitives.ReadUInt32BigEndian(datagram[8..]),
                    },
                    NatPmpDecodeError.None);
            default:
                return new(header, NatPmpDecodeError.UnsupportedOpcode);
        }
    }

    /// <summary>
    /// External address response (§3.2):
    /// <code>
    /// +--------+--------+--------+--------+
    /// | Vers=0 | OP=128 |   Result Code   |
    /// +--------+--------+--------+--------+
    /// |  Seconds Since Start of Epoch     |
    /// +--------+--------+--------+--------+
    /// |  External IPv4 Address (a.b.c.d)  |
    /// +--------+--------+--------+--------+
    /// </code>
    /// An unknown address is written as 0.0.0.0.
    /// </summary>
    public static bool TryWriteExternalAddressResponse(
        NatPmpResultCode result, uint epochSeconds, IPAddress? externalAddress, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (destination.Length < ExternalAddressResponseLength)
        {
            return false;
        }

        WriteHeader(destination, (byte)NatPmpOpcode.ExternalAddress, result, epochSeconds);
        Span<byte> address = destination.Slice(8, 4);
        if (externalAddress is { AddressFamily: AddressFamily.InterNetwork })
        {
            externalAddress.TryWriteBytes(address, out _);
        }
        else
        {
            address.Clear();
        }

        bytesWritten = ExternalAddressResponseLength;
        return true;
    }

    /// <summary>
    /// Map response (§3.3):
    /// <code>
    /// +--------+--------+--------+--------+
    /// | Vers=0 |OP=128+x|   Result Code   |
    /// +--------+--------+--------+--------+
    /// |  Seconds Since Start of Epoch     |
    /// +--------+--------+--------+--------+
    /// |  Internal Port  |Mapped Ext. Port |
    /// +--------+--------+--------+--------+
    /// |  Port Mapping Lifetime in Seconds |
    /// +--------+--------+--------+--------+
    /// </code>
    /// </summary>
    public static bool TryWriteMapResponse(
        byte requestOpcode,
        NatPmpResultCode result,
        uint epochSeconds,
        ushort internalPort,
        ushort externalPort,
        uint lifetimeSeconds,
        Span<byte> destination,
        out int bytesWritten)
    {
        bytesWritten = 0;
        if (destination.Length < MapResponseLength)
        {
            return false;
        }

        WriteHeader(destination, requestOpcode, result, epochSeconds);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], externalPort);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], lifetimeSeconds);
        bytesWritten = MapResponseLength;
        return true;
    }

    /// <summary>
    /// Error response for an unsupported version or opcode (§3.5 with erratum 3618):
    /// <code>
    /// +--------+--------+--------+--------+
    /// | Vers=0 |OP=128+x|   Result Code   |
    /// +--------+--------+--------+--------+
    /// |  Seconds Since Start of Epoch     |
    /// +--------+--------+--------+--------+
    /// </code>
    /// For an unsupported version x is 0: the opcode of another version has no meaning here.
    /// </summary>
    public static bool TryWriteErrorResponse(
        byte requestOpcode, NatPmpResultCode result, uint epochSeconds, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (destination.Length < ErrorResponseLength)
        {
            return false;
        }

        WriteHeader(destination, requestOpcode, result, epochSeconds);
        bytesWritten = ErrorResponseLength;
        return true;
    }

    private static void WriteHeader(Span<byte> destination, byte requestOpcode, NatPmpResultCode result, uint epochSeconds)
    {
        destination[0] = 0;
        destination[1] = (byte)(ResponseBit | requestOpcode);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)result);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], epochSeconds);
    }
}
