namespace PortMapper.Protocols.Rtsp;

/// <param name="Length">Message: octets of the header, empty line included (the body follows). Interleaved: octets of the whole frame.</param>
public readonly record struct RtspReadResult(RtspReadStatus Status, RtspMessage? Message, int Length, RtspParseError Error)
{
    public static RtspReadResult NeedMore => new(RtspReadStatus.NeedMore, null, 0, RtspParseError.None);

    public static RtspReadResult Malformed(RtspParseError error) => new(RtspReadStatus.Malformed, null, 0, error);
}
