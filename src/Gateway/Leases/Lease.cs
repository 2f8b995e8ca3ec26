using System.Net;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

/// <summary>
/// One entry of the lease table. Immutable: a renewal replaces the lease with a copy that expires later.
/// <see cref="Expires"/> null means permanent. The external address is the gateway's current one.
/// </summary>
public sealed record Lease(
    long Id,
    MappingProtocol Protocol,
    ushort ExternalPort,
    IPAddress InternalAddress,
    ushort InternalPort,
    IPAddress Client,
    IPAddress? RemotePeer,
    MappingOrigin Origin,
    string Description,
    byte[]? Nonce,
    DateTimeOffset Created,
    DateTimeOffset? Expires)
{
    public bool IsLive(DateTimeOffset now) => Expires is null || Expires > now;

    public uint SecondsLeft(DateTimeOffset now) =>
        Expires is { } e ? (uint)Math.Clamp(Math.Ceiling((e - now).TotalSeconds), 0, uint.MaxValue) : uint.MaxValue;
}
