using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Net;
using System.Text;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Persistence;

/// <summary>
/// Journal framing. Each record:
/// <code>
/// +--------+--------+--------+--------+--------+--------+--------+--------+----------------
/// |   payload length (u32, big-endian) |  CRC-32 of the payload (u32)      | payload ...
/// +--------+--------+--------+--------+--------+--------+--------+--------+----------------
/// </code>
/// The payload starts with a <see cref="JournalRecordType"/>. A record whose length runs past the end of
/// the file or whose CRC does not match ends the journal: it is the torn tail of an interrupted write. An intact
/// record whose content cannot be read (written by a later version, or damaged before its CRC was taken) throws
/// from its reader; the store skips it. The byte layout is pinned by a golden test: change it only by appending.
/// </summary>
internal static class JournalCodec
{
    public const int HeaderLength = 8;
    public const int MaxPayloadLength = 4096;

    public static void WritePut(ArrayBufferWriter<byte> output, Lease lease)
    {
        Span<byte> payload = stackalloc byte[MaxPayloadLength];
        int n = 0;
        payload[n++] = (byte)JournalRecordType.Put;
        BinaryPrimitives.WriteInt64BigEndian(payload[n..], lease.Id);
        n += 8;
        payload[n++] = (byte)lease.Protocol;
        BinaryPrimitives.WriteUInt16BigEndian(payload[n..], lease.ExternalPort);
        n += 2;
        n += WriteAddress(payload[n..], lease.InternalAddress);
        BinaryPrimitives.WriteUInt16BigEndian(payload[n..], lease.InternalPort);
        n += 2;
        n += WriteAddress(payload[n..], lease.Client);
        n += WriteAddress(payload[n..], lease.RemotePeer?.Address);
        BinaryPrimitives.WriteUInt16BigEndian(payload[n..], (ushort)(lease.RemotePeer?.Port ?? 0));
        n += 2;
        payload[n++] = (byte)lease.Origin;
        BinaryPrimitives.WriteInt64BigEndian(payload[n..], lease.Created.ToUnixTimeMilliseconds());
        n += 8;
        BinaryPrimitives.WriteInt64BigEndian(payload[n..], lease.Expires?.ToUnixTimeMilliseconds() ?? -1);
        n += 8;
        int descriptionLength = Encoding.UTF8.GetBytes(lease.Description.AsSpan(0, Math.Min(lease.Description.Length, 512)), payload[(n + 2)..]);
        BinaryPrimitives.WriteUInt16BigEndian(payload[n..], (ushort)descriptionLength);
        n += 2 + descriptionLength;
        byte[] nonce = lease.Nonce ?? [];
        payload[n++] = (byte)nonce.Length;
        nonce.CopyTo(payload[n..]);
        n += nonce.Length;
        IReadOnlyList<MappingFilter> filters = lease.FilterList;
        payload[n++] = (byte)filters.Count;
        foreach (MappingFilter filter in filters)
        {
            n += WriteAddress(payload[n..], filter.Network.BaseAddress);
            payload[n++] = (byte)filter.Network.PrefixLength;
            BinaryPrimitives.WriteUInt16BigEndian(payload[n..], filter.Port);
            n += 2;
        }

        // Since devices: the MAC of the device that holds the lease (length 0 when it is known only by its address).
        // Older journals end before it; a reader that finds it missing takes the client address for the device.
        if (lease.Device.HasMac)
        {
            payload[n++] = 6;
            for (int i = 5; i >= 0; i--)
            {
                payload[n++] = (byte)(lease.Device.Mac >> (8 * i));
            }
        }
        else
        {
            payload[n++] = 0;
        }

        Frame(output, payload[..n]);
    }

    public static void WriteDelete(ArrayBufferWriter<byte> output, long id)
    {
        Span<byte> payload = stackalloc byte[9];
        payload[0] = (byte)JournalRecordType.Delete;
        BinaryPrimitives.WriteInt64BigEndian(payload[1..], id);
        Frame(output, payload);
    }

    public static void WriteEpoch(ArrayBufferWriter<byte> output, DateTimeOffset start, IPAddress? address)
    {
        Span<byte> payload = stackalloc byte[32];
        payload[0] = (byte)JournalRecordType.Epoch;
        BinaryPrimitives.WriteInt64BigEndian(payload[1..], start.ToUnixTimeMilliseconds());
        int n = 9 + WriteAddress(payload[9..], address);
        Frame(output, payload[..n]);
    }

    public static void WriteIdFloor(ArrayBufferWriter<byte> output, long nextId)
    {
        Span<byte> payload = stackalloc byte[9];
        payload[0] = (byte)JournalRecordType.IdFloor;
        BinaryPrimitives.WriteInt64BigEndian(payload[1..], nextId);
        Frame(output, payload);
    }

    /// <summary>Reads the next whole, intact record. False at the end or at a torn or corrupt tail.</summary>
    public static bool TryReadRecord(ReadOnlySpan<byte> journal, out ReadOnlySpan<byte> payload, out int consumed)
    {
        payload = default;
        consumed = 0;
        if (journal.Length < HeaderLength)
        {
            return false;
        }

        uint length = BinaryPrimitives.ReadUInt32BigEndian(journal);
        if (length == 0 || length > MaxPayloadLength || journal.Length - HeaderLength < length)
        {
            return false;
        }

        ReadOnlySpan<byte> body = journal.Slice(HeaderLength, (int)length);
        if (Crc32.HashToUInt32(body) != BinaryPrimitives.ReadUInt32BigEndian(journal[4..]))
        {
            return false;
        }

        payload = body;
        consumed = HeaderLength + (int)length;
        return true;
    }

    public static Lease ReadPut(ReadOnlySpan<byte> p)
    {
        int n = 1;
        long id = BinaryPrimitives.ReadInt64BigEndian(p[n..]);
        n += 8;
        var protocol = (MappingProtocol)p[n++];
        if (!Enum.IsDefined(protocol))
        {
            throw new InvalidDataException($"unknown protocol {(byte)protocol}");
        }

        ushort externalPort = BinaryPrimitives.ReadUInt16BigEndian(p[n..]);
        n += 2;
        IPAddress internalAddress = ReadAddress(p, ref n) ?? throw new InvalidDataException("lease without internal address");
        ushort internalPort = BinaryPrimitives.ReadUInt16BigEndian(p[n..]);
        n += 2;
        IPAddress client = ReadAddress(p, ref n) ?? throw new InvalidDataException("lease without client");
        IPAddress? remoteAddress = ReadAddress(p, ref n);
        ushort remotePort = BinaryPrimitives.ReadUInt16BigEndian(p[n..]);
        n += 2;
        var origin = (MappingOrigin)p[n++];
        if (!Enum.IsDefined(origin))
        {
            throw new InvalidDataException($"unknown origin {(byte)origin}");
        }

        var created = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(p[n..]));
        n += 8;
        long expiresMs = BinaryPrimitives.ReadInt64BigEndian(p[n..]);
        n += 8;
        int descriptionLength = BinaryPrimitives.ReadUInt16BigEndian(p[n..]);
        n += 2;
        string description = Encoding.UTF8.GetString(p.Slice(n, descriptionLength));
        n += descriptionLength;
        int nonceLength = p[n++];
        byte[]? nonce = nonceLength == 0 ? null : p.Slice(n, nonceLength).ToArray();
        n += nonceLength;
        var filters = new MappingFilter[p[n++]];
        for (int i = 0; i < filters.Length; i++)
        {
            IPAddress network = ReadAddress(p, ref n) ?? throw new InvalidDataException("filter without address");
            int prefix = p[n++];
            filters[i] = new MappingFilter(new IPNetwork(network, prefix), BinaryPrimitives.ReadUInt16BigEndian(p[n..]));
            n += 2;
        }

        DeviceId device = default;
        if (n < p.Length)
        {
            int macLength = p[n++];
            if (macLength == 6)
            {
                ulong mac = 0;
                foreach (byte b in p.Slice(n, 6))
                {
                    mac = (mac << 8) | b;
                }

                device = mac == 0 ? default : DeviceId.OfMac(mac);
            }
            else if (macLength != 0)
            {
                throw new InvalidDataException($"device address of {macLength} bytes");
            }
        }

        return new Lease(
            id, protocol, externalPort, internalAddress, internalPort, client,
            remoteAddress is null ? null : new IPEndPoint(remoteAddress, remotePort), origin, description, nonce, created,
            expiresMs < 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(expiresMs),
            filters.Length == 0 ? null : filters,
            device);
    }

    public static long ReadId(ReadOnlySpan<byte> p) => BinaryPrimitives.ReadInt64BigEndian(p[1..]);

    public static (DateTimeOffset Start, IPAddress? Address) ReadEpoch(ReadOnlySpan<byte> p)
    {
        int n = 9;
        return (DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(p[1..])), ReadAddress(p, ref n));
    }

    internal static void Frame(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = output.GetSpan(HeaderLength + payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], Crc32.HashToUInt32(payload));
        payload.CopyTo(header[HeaderLength..]);
        output.Advance(HeaderLength + payload.Length);
    }

    private static int WriteAddress(Span<byte> destination, IPAddress? address)
    {
        if (address is null)
        {
            destination[0] = 0;
            return 1;
        }

        address.TryWriteBytes(destination[1..], out int written);
        destination[0] = (byte)written;
        return 1 + written;
    }

    private static IPAddress? ReadAddress(ReadOnlySpan<byte> p, ref int n)
    {
        int length = p[n++];
        if (length == 0)
        {
            return null;
        }

        var address = new IPAddress(p.Slice(n, length));
        n += length;
        return address;
    }
}
