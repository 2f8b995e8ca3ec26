namespace PortMapper.Protocols.Rtsp;

/// <summary>What the start of an RTSP byte stream holds.</summary>
public enum RtspReadStatus
{
    /// <summary>Not a whole message header yet.</summary>
    NeedMore,

    /// <summary>A request or response header; its body (Content-Length octets) follows.</summary>
    Message,

    /// <summary>An interleaved binary frame (RFC 2326 §10.12): '$', channel, 16-bit length, data. Nothing to read in it.</summary>
    Interleaved,

    /// <summary>Not RTSP, or broken beyond framing: the rest of the stream cannot be trusted.</summary>
    Malformed,
}
