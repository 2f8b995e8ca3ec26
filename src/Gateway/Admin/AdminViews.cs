using System.Text.Json.Serialization;

namespace PortMapper.Gateway.Admin;

/// <summary>A lease as the admin API shows it.</summary>
public sealed record LeaseView(
    long Id,
    string Protocol,
    string Origin,
    ushort ExternalPort,
    string InternalAddress,
    ushort InternalPort,
    string Client,
    string? Device,
    string Description,
    bool Pinhole,
    string? RemotePeer,
    IReadOnlyList<string> Filters,
    DateTimeOffset Created,
    DateTimeOffset? Expires,
    long? SecondsLeft,
    ulong? Packets = null,
    ulong? Bytes = null,
    string? Upstream = null);

/// <summary>The gateway's state for <c>/api/status</c>.</summary>
public sealed record StatusView(
    string? ExternalAddress,
    bool ExternalAddressIsReserved,
    string? ExternalAddressKind,
    DateTimeOffset EpochStart,
    long EpochSeconds,
    long UptimeSeconds,
    string Wan,
    IReadOnlyList<string> Lan,
    string FirewallMode,
    IReadOnlyDictionary<string, int> Leases,
    int LeaseTotal,
    bool KernelInSync,
    DateTimeOffset? LastReconcile,
    RtspView Rtsp,
    IReadOnlyList<long>? RequestsPerMinute = null,
    UpstreamView? Upstream = null);

/// <summary>
/// The upstream gateway (double NAT): "pcp", "natpmp" or "upnp" while mappings are carried to it, else "none" or "off";
/// its public address, which LAN clients are told, and its epoch.
/// </summary>
public sealed record UpstreamView(string Protocol, string? Server, string? PublicAddress, long? EpochSeconds, string Reason);

/// <summary>The RTSP helper: which one runs ("off", "kernel", "observer"), and for the daemon's own, what it follows and holds open.</summary>
public sealed record RtspView(string Helper, int Connections, int MediaPorts);

/// <summary>A device for <c>/api/devices</c>: who it is, what it is called, what it holds, whether it may map ports.</summary>
public sealed record DeviceView(
    string Id,
    string? Mac,
    IReadOnlyList<string> Addresses,
    string? Hostname,
    DateTimeOffset? FirstSeen,
    DateTimeOffset? LastSeen,
    int Leases,
    string Permission,
    string PermissionSource,
    bool OpenNat = false,
    string OpenNatSource = "off",
    IReadOnlyList<OpenNatMappingView>? OpenNatMappings = null);

/// <summary>An Open NAT endpoint mapping the kernel holds: any remote host may send to the external port.</summary>
public sealed record OpenNatMappingView(int ExternalPort, string InternalAddress, int InternalPort, long ExpiresIn);

/// <summary>The body of <c>PUT /api/devices/{mac}</c>: either or both.</summary>
public sealed record DeviceChange(string? Permission, bool? OpenNat = null);

/// <summary>An RFC 9457 problem body for every 4xx the admin endpoint gives.</summary>
public sealed record ProblemView(string Type, string Title, int Status, string Detail);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(LeaseView))]
[JsonSerializable(typeof(LeaseView[]))]
[JsonSerializable(typeof(StatusView))]
[JsonSerializable(typeof(RtspView))]
[JsonSerializable(typeof(UpstreamView))]
[JsonSerializable(typeof(ProblemView))]
[JsonSerializable(typeof(DeviceView))]
[JsonSerializable(typeof(DeviceView[]))]
[JsonSerializable(typeof(DeviceChange))]
[JsonSerializable(typeof(Events.GatewayEvent))]
[JsonSerializable(typeof(Events.GatewayEvent[]))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
