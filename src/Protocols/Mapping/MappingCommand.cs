using System.Net;

namespace PortMapper.Protocols.Mapping;

/// <summary>
/// What a protocol handler asks of the lease table. The table decides; the handler turns the
/// <see cref="MappingOutcome"/> into the protocol's answer.
/// </summary>
/// <param name="Nonce">PCP mapping nonce: a later request for the same mapping must carry the same one.</param>
/// <param name="PreferFailure">Refuse rather than assign another external port than the suggested one.</param>
/// <param name="Filters">Only these remote peers may use the mapping; empty clears the filters, null keeps a renewed mapping's.</param>
/// <param name="ThirdPartyAuthorized">The front end has checked that the client may map for another host.</param>
/// <param name="RemotePeer">For <see cref="MappingCommandKind.Peer"/>: the remote end of the outbound mapping.</param>
/// <param name="Permanent">A mapping without expiry (UPnP IGD:1 lease duration 0); the requested lifetime is ignored.</param>
public readonly record struct MappingCommand(
    MappingCommandKind Kind,
    MappingProtocol Protocol,
    MappingOrigin Origin,
    IPAddress Client,
    IPAddress InternalAddress,
    ushort InternalPort,
    ushort SuggestedExternalPort,
    uint RequestedLifetimeSeconds,
    string Description,
    byte[]? Nonce = null,
    bool PreferFailure = false,
    IReadOnlyList<MappingFilter>? Filters = null,
    bool ThirdPartyAuthorized = false,
    IPEndPoint? RemotePeer = null,
    bool Permanent = false);
