namespace PortMapper.Protocols.Rtsp;

/// <summary>port [ "-" port ] of a Transport parameter (RFC 2326 §12.39): RTP and RTCP, or one port.</summary>
public readonly record struct RtspPortRange(ushort Low, ushort High)
{
    public int Count => High - Low + 1;
}
