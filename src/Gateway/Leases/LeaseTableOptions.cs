namespace PortMapper.Gateway.Leases;

public sealed record LeaseTableOptions(
    uint MaxLifetimeSeconds,
    int MaxLeasesPerClient,
    bool SecureMode,
    IReadOnlySet<ushort> ReservedPorts);
