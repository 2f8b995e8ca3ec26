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
}
