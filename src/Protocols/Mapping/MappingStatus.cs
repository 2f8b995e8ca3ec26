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
}
