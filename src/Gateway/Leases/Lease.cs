using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

/// <summary>
/// One entry of the lease table. Immutable: a renewal replaces the lease with a copy that expires later.
/// <see cref="Expires"/> null means permanent. The external address is the gateway's current one; for an
/// IPv6 internal address the lease is a pinhole and <see cref="ExternalPort"/> equals the internal port.
/// <see cref="RemotePeer"/> is set for the outbound mapping of a PCP PEER request; <see cref="Filters"/>
/// limits who may come in (empty: anyone). <see cref="Device"/> is the device that asked (quotas count per device).
/// </summary>
public sealed record Lease(
    long Id,
    MappingProtocol Protocol,
    ushort ExternalPort,
    IPAddress InternalAddress,
    ushort InternalPort,
    IPAddress Client,
    IPEndPoint? RemotePeer,
    MappingOrigin Origin,
    string Description,
    byte[]? Nonce,
    DateTimeOffset Created,
    DateTimeOffset? Expires,
    IReadOnlyList<MappingFilter>? Filters = null,
    DeviceId Device = default) : IMappingView
{
    /// <summary>The device that holds the lease: the one recorded, or for a lease from before devices, its client address.</summary>
    public DeviceId Owner => Device.HasMac || Device.Address is not null ? Device : DeviceId.OfAddress(Client);

    public (MappingProtocol, IPAddress, ushort) InternalEndpoint => (Protocol, InternalAddress, InternalPort);

    public bool IsPinhole => InternalAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;

    public IReadOnlyList<MappingFilter> FilterList => Filters ?? [];

    public bool IsLive(DateTimeOffset now) => Expires is null || Expires > now;

    public uint SecondsLeft(DateTimeOffset now) =>
        Expires is { } e ? (uint)Math.Clamp(Math.Ceiling((e - now).TotalSeconds), 0, uint.MaxValue) : uint.MaxValue;
}
