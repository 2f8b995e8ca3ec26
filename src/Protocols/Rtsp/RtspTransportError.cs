namespace PortMapper.Protocols.Rtsp;

/// <summary>Why a Transport header is refused.</summary>
public enum RtspTransportError
{
    None,

    /// <summary>No transport-spec at all, or more than <see cref="RtspTransportParser.MaxSpecs"/>.</summary>
    Empty,

    /// <summary>A transport-spec that does not start with protocol/profile.</summary>
    BadProtocol,

    /// <summary>A port parameter that is not port or port-port with 0 &lt; low &lt;= high &lt;= 65535.</summary>
    BadPort,
}
