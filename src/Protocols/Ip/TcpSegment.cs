using System.Net;

namespace PortMapper.Protocols.Ip;

/// <summary>One TCP segment of a logged IP packet: the endpoints, the sequence number, the control bits and the payload.</summary>
public readonly ref struct TcpSegment
{
    public TcpSegment(IPAddress source, ushort sourcePort, IPAddress destination, ushort destinationPort, uint sequence, TcpFlags flags, ReadOnlySpan<byte> payload)
    {
        Source = source;
        SourcePort = sourcePort;
        Destination = destination;
        DestinationPort = destinationPort;
        Sequence = sequence;
        Flags = flags;
        Payload = payload;
    }

    public IPAddress Source { get; }

    public ushort SourcePort { get; }

    public IPAddress Destination { get; }

    public ushort DestinationPort { get; }

    /// <summary>The sequence number of the segment's first octet (of the SYN, on a SYN).</summary>
    public uint Sequence { get; }

    public TcpFlags Flags { get; }

    public ReadOnlySpan<byte> Payload { get; }

    public bool Has(TcpFlags flag) => (Flags & flag) == flag;
}
