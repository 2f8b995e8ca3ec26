namespace PortMapper.Protocols.Rtsp;

/// <summary>The parts of an RTSP/1.0 message header (RFC 2326 §6, §7) a NAT helper needs.</summary>
public sealed record RtspMessage
{
    public bool IsResponse { get; init; }

    /// <summary>Requests: the method as sent (methods are case-sensitive, §6.1).</summary>
    public string? Method { get; init; }

    /// <summary>Requests: the Request-URI.</summary>
    public string? Uri { get; init; }

    /// <summary>Responses: the status code.</summary>
    public int StatusCode { get; init; }

    public int? CSeq { get; init; }

    /// <summary>The Transport header's value (§12.39), unparsed.</summary>
    public string? Transport { get; init; }

    /// <summary>The session identifier of the Session header (§12.37), without parameters.</summary>
    public string? Session { get; init; }

    /// <summary>The Session header's timeout parameter, in seconds.</summary>
    public int? SessionTimeout { get; init; }

    /// <summary>Octets of body after the header.</summary>
    public int ContentLength { get; init; }

    public bool IsSuccess => IsResponse && StatusCode is >= 200 and < 300;
}
