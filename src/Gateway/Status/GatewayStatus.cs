using System.Net;

namespace PortMapper.Gateway.Status;

/// <summary>An immutable picture of the gateway's state, replaced whole on every change.</summary>
public sealed record GatewayStatus(
    IPAddress? ExternalAddress,
    string? ExternalAddressReservedKind,
    DateTimeOffset EpochStart,
    int LeaseCount,
    bool KernelInSync,
    DateTimeOffset? LastReconcile);
