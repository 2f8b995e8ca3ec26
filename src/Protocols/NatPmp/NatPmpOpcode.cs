namespace PortMapper.Protocols.NatPmp;

/// <summary>NAT-PMP request opcodes (RFC 6886 §3.2, §3.3). A response carries 128 + the request's opcode.</summary>
public enum NatPmpOpcode : byte
{
    /// <summary>"OP = 0": determine the external address.</summary>
    ExternalAddress = 0,

    /// <summary>"OP = 1": map a UDP port.</summary>
    MapUdp = 1,

    /// <summary>"OP = 2": map a TCP port.</summary>
    MapTcp = 2,
}
