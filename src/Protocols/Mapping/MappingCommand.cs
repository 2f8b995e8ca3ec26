using System.Net;

namespace PortMapper.Protocols.Mapping;

/// <summary>
/// What a protocol handler asks of the lease table. The table decides; the handler turns the
/// <see cref="MappingOutcome"/> into the protocol's answer.
/// </summary>
public readonly record struct MappingCommand(
    MappingCommandKind Kind,
    MappingProtocol Protocol,
    MappingOrigin Origin,
    IPAddress Client,
    IPAddress InternalAddress,
    ushort InternalPort,
    ushort SuggestedExternalPort,
    uint RequestedLifetimeSeconds,
    string Description);
