using System.Net;

namespace PortMapper.Protocols.Pcp;

/// <summary>
/// A decoded PCP request. IPv4 addresses are unmapped from their ::ffff:a.b.c.d form. Fields of MAP and PEER
/// data are zero or null for ANNOUNCE; the remote peer fields are set only for PEER. <see cref="HasFilterOption"/>
/// is true when any FILTER option came, even one of prefix length 0, which only clears earlier filters (§13.3).
/// </summary>
public sealed record PcpRequest(
    PcpOpcode Opcode,
    uint RequestedLifetime,
    IPAddress ClientAddress,
    byte[] Nonce,
    byte Protocol,
    ushort InternalPort,
    ushort SuggestedExternalPort,
    IPAddress SuggestedExternalAddress,
    ushort RemotePeerPort,
    IPAddress? RemotePeerAddress,
    IPAddress? ThirdParty,
    bool PreferFailure,
    IReadOnlyList<PcpFilter> Filters,
    bool HasFilterOption = false,
    string? Description = null)
{
    /// <summary>The address the mapping is for: the THIRD_PARTY address, or the client itself.</summary>
    public IPAddress InternalAddress => ThirdParty ?? ClientAddress;
}
