using System.Net;

namespace PortMapper.Gateway.Status;

/// <summary>An immutable picture of the gateway's state, replaced whole on every change.</summary>
public sealed record GatewayStatus(
    IPAddress? ExternalAddress,
    string? ExternalAddressReservedKind,
    DateTimeOffset EpochStart,
    int LeaseCount,
    bool KernelInSync,
    DateTimeOffset? LastReconcile)
{
    /// <summary>The upstream gateway's public address, while mappings are carried through to it (double NAT).</summary>
    public IPAddress? PublicAddress { get; init; }

    /// <summary>What the upstream search found: the server, its protocol and its epoch.</summary>
    public UpstreamStatus Upstream { get; init; } = UpstreamStatus.None;

    /// <summary>
    /// The address clients are told the Internet sees (NAT-PMP, PCP, UPnP): the upstream's public address when
    /// mappings are carried through, else the WAN address. The kernel always works with <see cref="ExternalAddress"/>.
    /// </summary>
    public IPAddress? AdvertisedAddress => PublicAddress ?? ExternalAddress;
}

/// <summary>
/// The upstream port-mapping server, as the gateway found it: <see cref="Protocol"/> is "pcp", "natpmp" or "upnp" while
/// mappings are carried to <see cref="Server"/>, "none" when nothing answered or none is needed, "off" when
/// configured off. <see cref="Reason"/> says why in words.
/// </summary>
public sealed record UpstreamStatus(string Protocol, IPAddress? Server, uint? EpochSeconds, string Reason)
{
    public static readonly UpstreamStatus None = new("none", null, null, "not looked for yet");

    public bool Active => Protocol is "pcp" or "natpmp" or "upnp";
}
