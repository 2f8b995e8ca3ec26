using System.Net;

namespace PortMapper.Protocols.Pcp;

/// <summary>
/// A decoded PCP request. IPv4 addresses are unmapped from their ::ffff:a.b.c.d form. Fields of MAP and PEER
/// data are zero or null for ANNOUNCE; the remote peer fields are set only for PEER.
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
    IReadOnlyList<PcpFilter> Filters)
{
    /// <summary>The address the mapping is for: the THIRD_PARTY address, or the client itself.</summary>
    public IPAddress InternalAddress => ThirdParty ?? ClientAddress;
}
