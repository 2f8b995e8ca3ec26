using System.Buffers.Binary;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// The netlink messages of one received datagram (struct nlmsghdr: 32-bit length, 16-bit type, flags, sequence,
/// port id; then the payload, padded to 4 octets), enumerated in place. Stops at the first message that does not
/// fit, and says so in <see cref="Truncated"/>.
/// </summary>
internal ref struct NetlinkMessages
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _next;

    public NetlinkMessages(ReadOnlySpan<byte> datagram)
    {
        _buffer = datagram;
        _next = 0;
    }

    public ushort Type { get; private set; }

    public uint Sequence { get; private set; }

    /// <summary>What follows the header.</summary>
    public ReadOnlySpan<byte> Payload { get; private set; }

    /// <summary>A message ran past the end of the datagram (or declared less than a header).</summary>
    public bool Truncated { get; private set; }

    public readonly NetlinkMessages GetEnumerator() => this;

    public readonly NetlinkMessages Current => this;

    public bool MoveNext()
    {
        if (_next >= _buffer.Length)
        {
            return false;
        }

        if (_next + NfnetlinkMessage.HeaderLength > _buffer.Length)
        {
            Truncated = true; // octets left, but not even a header
            return false;
        }

        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_buffer[_next..]);
        if (length < NfnetlinkMessage.HeaderLength || length > (uint)(_buffer.Length - _next))
        {
            Truncated = true;
            return false;
        }

        Type = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[(_next + 4)..]);
        Sequence = BinaryPrimitives.ReadUInt32LittleEndian(_buffer[(_next + 8)..]);
        Payload = _buffer.Slice(_next + NfnetlinkMessage.HeaderLength, (int)length - NfnetlinkMessage.HeaderLength);
        _next += NfnetlinkMessage.Align((int)length);
        return true;
    }
}
