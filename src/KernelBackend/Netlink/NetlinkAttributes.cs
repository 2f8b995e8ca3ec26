using System.Buffers.Binary;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// The netlink attributes of a buffer (struct nlattr: 16-bit length, 16-bit type, payload padded to 4 octets),
/// enumerated in place: type with the nested and byte-order flags masked off, payload, and the whole attribute.
/// Stops at the first attribute that does not fit.
/// </summary>
internal ref struct NetlinkAttributes
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _next;

    public NetlinkAttributes(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _next = 0;
    }

    public ushort Type { get; private set; }

    public ReadOnlySpan<byte> Payload { get; private set; }

    public ReadOnlySpan<byte> Whole { get; private set; }

    public readonly NetlinkAttributes GetEnumerator() => this;

    public readonly NetlinkAttributes Current => this;

    public bool MoveNext()
    {
        if (_next + 4 > _buffer.Length)
        {
            return false;
        }

        ushort length = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[_next..]);
        if (length < 4 || _next + length > _buffer.Length)
        {
            return false;
        }

        Type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_buffer[(_next + 2)..]) & 0x3FFF);
        Payload = _buffer.Slice(_next + 4, length - 4);
        Whole = _buffer.Slice(_next, length);
        _next += (length + 3) & ~3;
        return true;
    }
}
