namespace PortMapper.Gateway.Events;

/// <summary>
/// One thing that happened, as the event stream, the kept log and the webhook carry it. <see cref="Kind"/> is one
/// of granted, renewed, refused, deleted, expired, revoked, device-seen, permission-changed; the other fields say
/// which device (MAC, address, host name), which mapping (protocol, ports, origin, lifetime) and why.
/// </summary>
public sealed record GatewayEvent(
    long Id,
    DateTimeOffset Time,
    string Kind,
    string? Mac = null,
    string? Address = null,
    string? Hostname = null,
    string? Protocol = null,
    ushort? ExternalPort = null,
    string? InternalAddress = null,
    ushort? InternalPort = null,
    string? Origin = null,
    long? Lifetime = null,
    long? LeaseId = null,
    string? Reason = null);
