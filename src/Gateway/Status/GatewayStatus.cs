using System.Net;

namespace PortMapper.Gateway.Status;

/// <summary>An immutable picture of the gateway's state, replaced whole on every change.</summary>
public sealed record GatewayStatus(
    IPAddress? ExternalAddress,
    string? ExternalAddressReservedKind,
    DateTimeOffset EpochStart,
    DateTimeOffset StartedAt,
    int LeaseCount,
    bool KernelInSync,
    DateTimeOffset? LastReconcile);
