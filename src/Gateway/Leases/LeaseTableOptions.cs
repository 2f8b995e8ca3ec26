namespace PortMapper.Gateway.Leases;

/// <param name="MaxLeasesPerDevice">Live leases one device (all its addresses together) may hold.</param>
/// <param name="MaxLeases">Live leases the table holds in total.</param>
public sealed record LeaseTableOptions(
    uint MaxLifetimeSeconds,
    int MaxLeasesPerDevice,
    bool SecureMode,
    IReadOnlySet<ushort> ReservedPorts,
    int MaxLeases = 8192);
