namespace PortMapper.Gateway.Leases;

public readonly record struct LeaseChange(LeaseChangeKind Kind, Lease Lease);
