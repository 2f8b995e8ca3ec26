using System.Buffers;
using PortMapper.Protocols.Rtsp;

namespace PortMapper.Gateway.Rtsp;

/// <summary>
/// One direction of a control connection, as a byte stream rebuilt from logged segments: the next sequence number
/// expected, the start of a header not complete yet (pooled, at most <see cref="RtspMessageReader.MaxHeaderLength"/>
/// octets, returned as soon as it is parsed), and how many octets of body or interleaved data to pass over.
/// </summary>
internal sealed class RtspHalfStream
{
    private byte[]? _pending;
    private int _pendingLength;

    /// <summary>The direction was seen from its SYN and no segment has gone missing since.</summary>
    public bool Synced { get; private set; }

    public uint Next { get; private set; }

    public long Skip { get; set; }

    public void Start(uint synSequence)
    {
        Synced = true;
        Next = synSequence + 1;
    }

    /// <summary>A copy went missing (the kernel drops log copies when the daemon falls behind): the rest cannot be framed.</summary>
    private void Lose()
    {
        Synced = false;
        Release();
    }

    /// <summary>The part of a segment's payload not seen before; empty for a retransmission, and a loss for a gap.</summary>
    public ReadOnlySpan<byte> New(uint sequence, ReadOnlySpan<byte> payload)
    {
        int seen = (int)(Next - sequence);
        if (seen < 0)
        {
            Lose();
            return [];
        }

        if (seen >= payload.Length)
        {
            return [];
        }

        ReadOnlySpan<byte> fresh = payload[seen..];
        Next += (uint)fresh.Length;
        return fresh;
    }

    /// <summary>Octets of a header start kept from earlier segments.</summary>
    public int PendingLength => _pendingLength;

    /// <summary>The kept header start followed by <paramref name="more"/> (which must fit), without keeping <paramref name="more"/> yet.</summary>
    public ReadOnlySpan<byte> Peek(ReadOnlySpan<byte> more)
    {
        _pending ??= ArrayPool<byte>.Shared.Rent(RtspMessageReader.MaxHeaderLength);
        more.CopyTo(_pending.AsSpan(_pendingLength));
        return _pending.AsSpan(0, _pendingLength + more.Length);
    }

    /// <summary>Keeps the first <paramref name="count"/> octets last peeked at.</summary>
    public void Commit(int count) => _pendingLength += count;

    public void Release()
    {
        if (_pending is not null)
        {
            ArrayPool<byte>.Shared.Return(_pending);
            _pending = null;
        }

        _pendingLength = 0;
    }
}
