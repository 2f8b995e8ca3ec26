using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PortMapper.Protocols.Pcp;

/// <summary>PCP wire format (RFC 6887). All fields are big-endian; addresses are 128 bits, IPv4 as ::ffff:a.b.c.d.</summary>
public static class PcpCodec
{
    public const byte Version = 2;
    public const int HeaderLength = 24;
    public const int MapDataLength = 36;
    public const int PeerDataLength = 56;
    public const int MaxMessageLength = 1100;
    public const int NonceLength = 12;

    /// <summary>RFC 7220 §3: the suggested longest description a server keeps; the rest is cut off.</summary>
    public const int MaxDescriptionLength = Upnp.UpnpArguments.MaxDescriptionLength;
    public const byte ResponseBit = 0x80;

    /// <summary>§7.2: lifetimes of error responses, telling clients when to try again.</summary>
    public const uint LongErrorLifetime = 1800;

    public const uint ShortErrorLifetime = 30;

    /// <summary>
    /// Decodes a request (§7.1, §8.3). Request header:
    /// <code>
    /// +--------+--------+--------+--------+
    /// | Ver=2  |R| Opc  |    Reserved     |
    /// +--------+--------+--------+--------+
    /// |       Requested Lifetime          |
    /// +--------+--------+--------+--------+
    /// |  PCP Client's IP Address (128)    |
    /// +-----------------------------------+
    /// : opcode-specific data, then options:
    /// </code>
    /// MAP data (§11.1): Nonce (96) | Protocol, Reserved (24) | Internal Port, Suggested External Port |
    /// Suggested External IP (128). PEER data (§12.1) adds Remote Peer Port, Reserved | Remote Peer IP (128).
    /// </summary>
    public static PcpDecodeResult Decode(ReadOnlySpan<byte> datagram, IPAddress source)
    {
        if (datagram.Length < 2 || (datagram[1] & ResponseBit) != 0)
        {
            return new(null, default, Drop: true, 0);
        }

        byte opcode = (byte)(datagram[1] & 0x7F);
        if (datagram[0] != Version)
        {
            return Fail(PcpResultCode.UnsupportedVersion, opcode);
        }

        if (datagram.Length < HeaderLength || datagram.Length > MaxMessageLength || datagram.Length % 4 != 0)
        {
            return Fail(PcpResultCode.MalformedRequest, opcode);
        }

        int dataLength = (PcpOpcode)opcode switch
        {
            PcpOpcode.Announce => 0,
            PcpOpcode.Map => MapDataLength,
            PcpOpcode.Peer => PeerDataLength,
            _ => -1,
        };
        if (dataLength < 0)
        {
            return Fail(PcpResultCode.UnsupportedOpcode, opcode);
        }

        if (datagram.Length < HeaderLength + dataLength)
        {
            return Fail(PcpResultCode.MalformedRequest, opcode);
        }

        var reader = new PcpReader(datagram);
        reader.Skip(4);
        uint lifetime = reader.ReadUInt32();
        IPAddress client = reader.ReadAddress();
        if (!SameAddress(client, Unmap(source)))
        {
            return Fail(PcpResultCode.AddressMismatch, opcode);
        }

        byte[] nonce = [];
        byte protocol = 0;
        ushort internalPort = 0, suggestedPort = 0, remotePort = 0;
        IPAddress suggestedAddress = IPAddress.IPv6Any;
        IPAddress? remoteAddress = null;
        if (dataLength > 0)
        {
            nonce = reader.ReadBytes(NonceLength).ToArray();
            protocol = reader.ReadByte();
            reader.Skip(3);
            internalPort = reader.ReadUInt16();
            suggestedPort = reader.ReadUInt16();
            suggestedAddress = reader.ReadAddress();
            if (opcode == (byte)PcpOpcode.Peer)
            {
                remotePort = reader.ReadUInt16();
                reader.Skip(2);
                remoteAddress = reader.ReadAddress();
            }
        }

        PcpResultCode optionError = ReadOptions(ref reader, (PcpOpcode)opcode, out IPAddress? thirdParty, out bool preferFailure, out List<PcpFilter> filters, out bool sawFilter, out string? description);
        if (optionError != PcpResultCode.Success)
        {
            return Fail(optionError, opcode);
        }

        var request = new PcpRequest((PcpOpcode)opcode, lifetime, client, nonce, protocol, internalPort, suggestedPort, suggestedAddress,
            remotePort, remoteAddress, thirdParty, preferFailure, filters, sawFilter, description);
        return new(request, PcpResultCode.Success, Drop: false, opcode);
    }

    /// <summary>
    /// Options (§7.3): Option Code (8) | Reserved (8) | Option Length (16) | data, padded to 32 bits.
    /// Unknown codes below 128 are UNSUPP_OPTION; 128 and above are skipped, except DESCRIPTION (RFC 7220) on MAP
    /// and PEER: its UTF-8 text, cleaned and cut to <see cref="MaxDescriptionLength"/> characters (the first one counts).
    /// </summary>
    private static PcpResultCode ReadOptions(
        ref PcpReader reader, PcpOpcode opcode, out IPAddress? thirdParty, out bool preferFailure, out List<PcpFilter> filters, out bool sawFilter,
        out string? description)
    {
        description = null;
        thirdParty = null;
        preferFailure = false;
        filters = [];
        sawFilter = false;
        while (reader.Remaining > 0)
        {
            if (reader.Remaining < 4)
            {
                return PcpResultCode.MalformedOption;
            }

            byte code = reader.ReadByte();
            reader.Skip(1);
            int length = reader.ReadUInt16();
            int padded = (length + 3) & ~3;
            if (padded > reader.Remaining)
            {
                return PcpResultCode.MalformedOption;
            }

            int next = reader.Position + padded;
            switch ((PcpOptionCode)code)
            {
                case PcpOptionCode.ThirdParty:
                    if (opcode == PcpOpcode.Announce || length != 16 || thirdParty is not null)
                    {
                        return PcpResultCode.MalformedOption;
                    }

                    thirdParty = reader.ReadAddress();
                    break;
                case PcpOptionCode.PreferFailure:
                    if (opcode != PcpOpcode.Map || length != 0 || preferFailure)
                    {
                        return PcpResultCode.MalformedOption;
                    }

                    preferFailure = true;
                    break;
                case PcpOptionCode.Filter:
                    if (opcode != PcpOpcode.Map || length != 20)
                    {
                        return PcpResultCode.MalformedOption;
                    }

                    reader.Skip(1);
                    int prefixLength = reader.ReadByte();
                    ushort port = reader.ReadUInt16();
                    ReadOnlySpan<byte> wire = reader.ReadBytes(16);
                    sawFilter = true;
                    if (prefixLength == 0)
                    {
                        break; // "no filter": the request's other FILTER options, if any, are the whole set
                    }

                    if (!TryFilterNetwork(wire, prefixLength, out IPNetwork network))
                    {
                        return PcpResultCode.MalformedOption;
                    }

                    filters.Add(new PcpFilter(network, port));
                    break;
                case PcpOptionCode.Description when opcode != PcpOpcode.Announce && description is null:
                    description = ReadDescription(reader.ReadBytes(length));
                    break;
                default:
                    if (code < 128)
                    {
                        return PcpResultCode.UnsupportedOption;
                    }

                    break;
            }

            reader.Skip(next - reader.Position);
        }

        return PcpResultCode.Success;
    }

    /// <summary>
    /// A FILTER prefix: 1-128 bits of the 128-bit address, at least 97 for an IPv4-mapped address. The
    /// network's base is the address with the host bits cleared.
    /// </summary>
    private static bool TryFilterNetwork(ReadOnlySpan<byte> wire, int prefixLength, out IPNetwork network)
    {
        network = default;
        IPAddress address = FromWire(wire);
        bool mapped = address.AddressFamily == AddressFamily.InterNetwork;
        if (prefixLength is < 1 or > 128 || (mapped && prefixLength <= 96))
        {
            return false;
        }

        int bits = mapped ? prefixLength - 96 : prefixLength;
        byte[] bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(bits - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        network = new IPNetwork(new IPAddress(bytes), bits);
        return true;
    }

    /// <summary>
    /// Response header (§7.2), then <paramref name="body"/> (opcode data and options):
    /// <code>
    /// +--------+--------+--------+--------+
    /// | Ver=2  |R| Opc  |Reserved| Result |
    /// +--------+--------+--------+--------+
    /// |             Lifetime              |
    /// +--------+--------+--------+--------+
    /// |            Epoch Time             |
    /// +--------+--------+--------+--------+
    /// |         Reserved (96 bits)        |
    /// +-----------------------------------+
    /// </code>
    /// </summary>
    public static bool TryWriteResponse(
        byte opcode, PcpResultCode result, uint lifetime, uint epoch, ReadOnlySpan<byte> body, Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        int length = HeaderLength + body.Length;
        if (destination.Length < length || length > MaxMessageLength)
        {
            return false;
        }

        destination[..HeaderLength].Clear();
        destination[0] = Version;
        destination[1] = (byte)(ResponseBit | opcode);
        destination[3] = (byte)result;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], lifetime);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], epoch);
        body.CopyTo(destination[HeaderLength..]);
        bytesWritten = length;
        return true;
    }

    /// <summary>MAP data (§11.1) or the first 36 octets of PEER data, as in a response: the assigned external port and address.</summary>
    public static int WriteMapData(Span<byte> destination, ReadOnlySpan<byte> nonce, byte protocol, ushort internalPort, ushort externalPort, IPAddress externalAddress)
    {
        destination[..MapDataLength].Clear();
        nonce[..NonceLength].CopyTo(destination);
        destination[12] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(destination[16..], internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(destination[18..], externalPort);
        ToWire(externalAddress, destination.Slice(20, 16));
        return MapDataLength;
    }

    /// <summary>The rest of PEER data (§12.1): Remote Peer Port, Reserved, Remote Peer IP Address.</summary>
    public static int WritePeerTail(Span<byte> destination, ushort remotePort, IPAddress remoteAddress)
    {
        destination[..20].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(destination, remotePort);
        ToWire(remoteAddress, destination.Slice(4, 16));
        return 20;
    }

    /// <summary>
    /// DESCRIPTION text: decoded, cleaned like a UPnP description, and never longer in UTF-8 than it came (so the
    /// answer that echoes it is no bigger than the request, whatever replaced an invalid sequence).
    /// </summary>
    private static string ReadDescription(ReadOnlySpan<byte> data)
    {
        string text = Upnp.UpnpArguments.SanitizeDescription(Encoding.UTF8.GetString(data[..Math.Min(data.Length, MaxDescriptionLength * 4)]));
        while (Encoding.UTF8.GetByteCount(text) > data.Length)
        {
            text = text[..^(text.Length > 1 && char.IsLowSurrogate(text[^1]) ? 2 : 1)];
        }

        return text;
    }

    /// <summary>The DESCRIPTION option (RFC 7220 §2): the text in UTF-8, padded.</summary>
    public static int WriteDescription(Span<byte> destination, string description)
    {
        Span<byte> text = stackalloc byte[MaxDescriptionLength * 4];
        int length = Encoding.UTF8.GetBytes(description, text);
        return WriteOption(destination, PcpOptionCode.Description, text[..length]);
    }

    /// <summary>One option with its 4-octet header; <paramref name="data"/> is padded to a multiple of 4.</summary>
    public static int WriteOption(Span<byte> destination, PcpOptionCode code, ReadOnlySpan<byte> data)
    {
        int padded = (data.Length + 3) & ~3;
        destination[..(4 + padded)].Clear();
        destination[0] = (byte)code;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)data.Length);
        data.CopyTo(destination[4..]);
        return 4 + padded;
    }

    /// <summary>FILTER data (§13.3): Reserved (8) | Prefix Length (8) | Remote Peer Port (16) | Remote Peer IP (128).</summary>
    public static int WriteFilter(Span<byte> destination, PcpFilter filter)
    {
        Span<byte> data = stackalloc byte[20];
        data.Clear();
        bool v4 = filter.RemoteNetwork.BaseAddress.AddressFamily == AddressFamily.InterNetwork;
        data[1] = (byte)(filter.RemoteNetwork.PrefixLength + (v4 ? 96 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(data[2..], filter.RemotePort);
        ToWire(filter.RemoteNetwork.BaseAddress, data[4..]);
        return WriteOption(destination, PcpOptionCode.Filter, data);
    }

    public static int WriteThirdParty(Span<byte> destination, IPAddress address)
    {
        Span<byte> data = stackalloc byte[16];
        ToWire(address, data);
        return WriteOption(destination, PcpOptionCode.ThirdParty, data);
    }

    /// <summary>Writes a 128-bit PCP address: IPv6 as is, IPv4 as ::ffff:a.b.c.d.</summary>
    public static void ToWire(IPAddress address, Span<byte> destination)
    {
        (address.AddressFamily == AddressFamily.InterNetwork ? address.MapToIPv6() : address).TryWriteBytes(destination, out _);
    }

    /// <summary>Reads a 128-bit PCP address; an IPv4-mapped one becomes IPv4.</summary>
    public static IPAddress FromWire(ReadOnlySpan<byte> wire) => Unmap(new IPAddress(wire));

    public static IPAddress Unmap(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>Equal addresses, ignoring the scope a link-local source carries and the wire form lacks.</summary>
    private static bool SameAddress(IPAddress wire, IPAddress source)
    {
        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        return wire.AddressFamily == source.AddressFamily
            && wire.TryWriteBytes(a, out int n) && source.TryWriteBytes(b, out int m)
            && a[..n].SequenceEqual(b[..m]);
    }

    /// <summary>§7.2: error lifetimes. Transient conditions are short; the others will not change soon.</summary>
    public static uint ErrorLifetime(PcpResultCode result) => result switch
    {
        PcpResultCode.NetworkFailure or PcpResultCode.NoResources or PcpResultCode.UserExceededQuota or PcpResultCode.CannotProvideExternal => ShortErrorLifetime,
        _ => LongErrorLifetime,
    };

    private static PcpDecodeResult Fail(PcpResultCode code, byte opcode) => new(null, code, Drop: false, opcode);
}
