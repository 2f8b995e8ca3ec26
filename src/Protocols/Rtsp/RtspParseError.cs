namespace PortMapper.Protocols.Rtsp;

/// <summary>Why an RTSP message header is refused.</summary>
public enum RtspParseError
{
    None,

    /// <summary>No empty line within <see cref="RtspMessageReader.MaxHeaderLength"/> octets.</summary>
    HeaderTooLong,

    /// <summary>Neither "METHOD URI RTSP/1.x" nor "RTSP/1.x CODE REASON".</summary>
    BadStartLine,

    /// <summary>A header line without a name and colon, or with control characters.</summary>
    BadHeaderLine,

    /// <summary>CSeq not a number, or given twice with different values.</summary>
    BadCSeq,

    /// <summary>Content-Length not a number, or given twice with different values.</summary>
    BadContentLength,

    /// <summary>A Session header whose identifier or timeout is not well formed.</summary>
    BadSession,
}
