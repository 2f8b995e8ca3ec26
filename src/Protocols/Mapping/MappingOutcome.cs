namespace PortMapper.Protocols.Mapping;

public readonly record struct MappingOutcome(MappingStatus Status, ushort ExternalPort, uint LifetimeSeconds)
{
    public static MappingOutcome Denied(MappingStatus status) => new(status, 0, 0);
}
