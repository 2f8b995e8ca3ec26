namespace PortMapper.Protocols.Rtsp;

/// <summary>One transport-spec of a Transport header (RFC 2326 §12.39).</summary>
/// <param name="Protocol">transport/profile[/lower-transport] as written, for example RTP/AVP or RTP/AVP/TCP.</param>
/// <param name="Tcp">The lower transport is TCP (interleaved on the control connection, or a separate connection).</param>
/// <param name="Multicast">The spec says multicast.</param>
/// <param name="Destination">destination=ADDRESS: where the client asks the media to go, when not to itself.</param>
/// <param name="Source">source=ADDRESS: where the server says the media comes from, when not from itself.</param>
public sealed record RtspTransportSpec(
    string Protocol,
    bool Tcp,
    bool Multicast,
    RtspPortRange? ClientPorts,
    RtspPortRange? ServerPorts,
    bool Interleaved,
    string? Destination,
    string? Source)
{
    /// <summary>Media over separate unicast UDP flows toward the client: what a NAT has to let in.</summary>
    public bool IsUnicastUdp => !Tcp && !Multicast && !Interleaved;
}
