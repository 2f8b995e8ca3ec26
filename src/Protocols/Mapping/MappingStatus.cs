namespace PortMapper.Protocols.Mapping;

/// <summary>The lease table's verdict on a <see cref="MappingCommand"/>.</summary>
public enum MappingStatus : byte
{
    Granted,
    Deleted,
    NotAuthorized,
    QuotaExceeded,
    NoResources,
    NoExternalAddress,

    /// <summary>The suggested external port was not free and the request preferred failure to another port.</summary>
    CannotProvideExternal,

    /// <summary>
    /// The suggested external port belongs to something else than a port mapping of this gateway's clients: a
    /// reserved port, a port a socket of the gateway itself holds, or another mechanism's mapping; the request
    /// preferred failure to another port.
    /// </summary>
    ConflictWithOtherMechanism,

    /// <summary>The kernel refused the change this grant needed; nothing was kept of it.</summary>
    KernelRefused,

    /// <summary>
    /// The gateway upstream (double NAT) refused the matching mapping or did not answer in time, and a mapping the
    /// Internet cannot reach is not granted; nothing was kept of it.
    /// </summary>
    UpstreamFailed,
}
