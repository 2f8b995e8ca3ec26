using System.Buffers.Binary;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// Requests of the netfilter netlink subsystems (ctnetlink, nfnetlink_log): nlmsghdr (16 octets, host order), then
/// nfgenmsg (family, version 0, resource id in network order), then attributes, each padded to 4 octets.
/// </summary>
internal static class NfnetlinkMessage
{
    /// <summary>NETLINK_NETFILTER, the netlink protocol of the netfilter subsystems.</summary>
    public const int NetlinkNetfilter = 12;
    public const ushort NlmsgError = 2;
    public const int HeaderLength = 16;
    public const ushort FlagRequest = 0x1;
    public const ushort FlagAck = 0x4;

    public static int Align(int length) => (length + 3) & ~3;

    public static byte[] Build(ushort type, ushort flags, uint sequence, byte family, ushort resourceId, ReadOnlySpan<byte> attributes)
    {
        byte[] message = new byte[HeaderLength + 4 + Align(attributes.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        message[HeaderLength] = family;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(HeaderLength + 2), resourceId);
        attributes.CopyTo(message.AsSpan(HeaderLength + 4));
        return message;
    }

    /// <summary>One attribute (struct nlattr), padded.</summary>
    public static byte[] Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        byte[] attribute = new byte[Align(4 + value.Length)];
        BinaryPrimitives.WriteUInt16LittleEndian(attribute, (ushort)(4 + value.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(attribute.AsSpan(2), type);
        value.CopyTo(attribute.AsSpan(4));
        return attribute;
    }
}
