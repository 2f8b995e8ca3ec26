namespace PortMapper.Protocols.Pcp;

/// <summary>PCP opcodes (RFC 6887 §19.2). The R bit (0x80) marks a response.</summary>
public enum PcpOpcode : byte
{
    /// <summary>§14.1: ask whether the server lost state; also sent unsolicited by the server.</summary>
    Announce = 0,

    /// <summary>§11: an inbound mapping (NAT) or pinhole (firewall).</summary>
    Map = 1,

    /// <summary>§12: the mapping used toward one remote peer.</summary>
    Peer = 2,
}
