using System.Buffers.Binary;
using System.Text;

namespace PortMapper.Protocols.Mdns;

/// <summary>
/// Multicast DNS (RFC 6762) as far as a one-service advertiser needs: read the questions of a query (with name
/// compression), write responses (names uncompressed, which is allowed). Names compare case-insensitively.
/// </summary>
public static class MdnsCodec
{
    public const int Port = 5353;
    public const string MulticastAddress = "224.0.0.251";
    public const int MaxDatagram = 9000;
    private const int HeaderLength = 12;
    private const int MaxQuestions = 64;

    /*
        Header (RFC 1035 §4.1.1):
        | ID (16) | QR Opcode(4) AA TC RD RA Z AD CD RCODE(4) | QDCOUNT | ANCOUNT | NSCOUNT | ARCOUNT |
        Question: QNAME, QTYPE (16), QU (1) + QCLASS (15)
    */
    public static MdnsDecodeError TryReadQuery(ReadOnlySpan<byte> message, out ushort id, out List<MdnsQuestion> questions)
    {
        questions = [];
        id = 0;
        if (message.Length < HeaderLength)
        {
            return MdnsDecodeError.Truncated;
        }

        id = BinaryPrimitives.ReadUInt16BigEndian(message);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & 0x8000) != 0 || (flags & 0x7800) != 0 || (flags & 0x000F) != 0)
        {
            return MdnsDecodeError.NotQuery;
        }

        int count = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        if (count > MaxQuestions)
        {
            return MdnsDecodeError.Truncated;
        }

        int at = HeaderLength;
        for (int i = 0; i < count; i++)
        {
            MdnsDecodeError error = TryReadName(message, ref at, out string name);
            if (error != MdnsDecodeError.None)
            {
                return error;
            }

            if (at + 4 > message.Length)
            {
                return MdnsDecodeError.Truncated;
            }

            var type = (DnsType)BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            ushort qclass = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]);
            at += 4;
            if ((qclass & 0x7FFF) is 1 or 255)
            {
                questions.Add(new MdnsQuestion(name, type, (qclass & 0x8000) != 0));
            }
        }

        return MdnsDecodeError.None;
    }

    /// <summary>Writes a response: header (QR, AA), the echoed questions (legacy unicast only), answers, additional records.</summary>
    public static byte[] WriteResponse(ushort id, IReadOnlyList<MdnsQuestion> echoed, IReadOnlyList<MdnsRecord> answers, IReadOnlyList<MdnsRecord> additional)
    {
        var buffer = new List<byte>(512);
        Span<byte> header = stackalloc byte[HeaderLength];
        BinaryPrimitives.WriteUInt16BigEndian(header, id);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], 0x8400);
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], (ushort)echoed.Count);
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)answers.Count);
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], (ushort)additional.Count);
        buffer.AddRange(header);
        foreach (MdnsQuestion q in echoed)
        {
            WriteName(buffer, q.Name);
            Append16(buffer, (ushort)q.Type);
            Append16(buffer, 1);
        }

        foreach (MdnsRecord r in answers.Concat(additional))
        {
            WriteName(buffer, r.Name);
            Append16(buffer, (ushort)r.Type);
            Append16(buffer, (ushort)(r.Unique ? 0x8001 : 0x0001));
            Append16(buffer, (ushort)(r.Ttl >> 16));
            Append16(buffer, (ushort)r.Ttl);
            Append16(buffer, (ushort)r.Data.Length);
            buffer.AddRange(r.Data);
        }

        return [.. buffer];
    }

    public static byte[] Name(string name)
    {
        var buffer = new List<byte>(name.Length + 2);
        WriteName(buffer, name);
        return [.. buffer];
    }

    /// <summary>SRV RDATA (RFC 2782): priority, weight, port, target.</summary>
    public static byte[] Srv(ushort port, string target)
    {
        var buffer = new List<byte>();
        Append16(buffer, 0);
        Append16(buffer, 0);
        Append16(buffer, port);
        WriteName(buffer, target);
        return [.. buffer];
    }

    /// <summary>TXT RDATA: length-prefixed strings (RFC 6763 §6).</summary>
    public static byte[] Txt(params string[] entries)
    {
        var buffer = new List<byte>();
        foreach (string entry in entries)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(entry);
            buffer.Add((byte)Math.Min(bytes.Length, 255));
            buffer.AddRange(bytes.AsSpan(0, Math.Min(bytes.Length, 255)).ToArray());
        }

        return [.. buffer];
    }

    public static bool SameName(string a, string b) => string.Equals(a.TrimEnd('.'), b.TrimEnd('.'), StringComparison.OrdinalIgnoreCase);

    private static MdnsDecodeError TryReadName(ReadOnlySpan<byte> message, ref int at, out string name)
    {
        name = string.Empty;
        var labels = new List<string>();
        int position = at;
        int end = -1;
        int total = 0;
        for (int jumps = 0; jumps < 64;)
        {
            if (position >= message.Length)
            {
                return MdnsDecodeError.Truncated;
            }

            byte length = message[position];
            if (length == 0)
            {
                at = end >= 0 ? end : position + 1;
                name = string.Join('.', labels);
                return MdnsDecodeError.None;
            }

            if ((length & 0xC0) == 0xC0)
            {
                if (position + 1 >= message.Length)
                {
                    return MdnsDecodeError.Truncated;
                }

                int target = ((length & 0x3F) << 8) | message[position + 1];
                if (target >= position)
                {
                    return MdnsDecodeError.BadName; // only backward pointers: no loops
                }

                if (end < 0)
                {
                    end = position + 2;
                }

                position = target;
                jumps++;
                continue;
            }

            if ((length & 0xC0) != 0 || position + 1 + length > message.Length)
            {
                return MdnsDecodeError.BadName;
            }

            total += length + 1;
            if (total > 255)
            {
                return MdnsDecodeError.BadName;
            }

            labels.Add(Encoding.UTF8.GetString(message.Slice(position + 1, length)));
            position += 1 + length;
        }

        return MdnsDecodeError.BadName;
    }

    private static void WriteName(List<byte> buffer, string name)
    {
        foreach (string label in name.TrimEnd('.').Split('.'))
        {
            byte[] bytes = Encoding.UTF8.GetBytes(label);
            buffer.Add((byte)Math.Min(bytes.Length, 63));
            buffer.AddRange(bytes.AsSpan(0, Math.Min(bytes.Length, 63)).ToArray());
        }

        buffer.Add(0);
    }

    private static void Append16(List<byte> buffer, ushort value)
    {
        buffer.Add((byte)(value >> 8));
        buffer.Add((byte)value);
    }
}
