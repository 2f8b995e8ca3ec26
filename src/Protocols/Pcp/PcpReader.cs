using System.Buffers.Binary;
using System.Net;

namespace PortMapper.Protocols.Pcp;

/// <summary>A forward-only reader over a PCP message; every read is bounds-checked by the caller's length checks.</summary>
internal ref struct PcpReader
{
    private readonly ReadOnlySpan<byte> _buffer;

    public PcpReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        Position = 0;
    }

    public int Position { get; private set; }

    public readonly int Remaining => _buffer.Length - Position;

    public byte ReadByte() => _buffer[Position++];

    public ushort ReadUInt16()
    {
        ushort value = BinaryPrimitives.ReadUInt16BigEndian(_buffer[Position..]);
        Position += 2;
        return value;
    }

    public uint ReadUInt32()
    {
        uint value = BinaryPrimitives.ReadUInt32BigEndian(_buffer[Position..]);
        Position += 4;
        return value;
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        ReadOnlySpan<byte> value = _buffer.Slice(Position, count);
        Position += count;
        return value;
    }

    /// <summary>A 128-bit PCP address; IPv4-mapped addresses come back as IPv4.</summary>
    public IPAddress ReadAddress() => PcpCodec.FromWire(ReadBytes(16));

    public void Skip(int count) => Position += count;
}
