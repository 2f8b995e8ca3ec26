namespace PortMapper.Protocols.NatPmp;

/// <summary>Why a datagram is not a usable NAT-PMP request, and so what the server does with it.</summary>
public enum NatPmpDecodeError : byte
{
    None = 0,

    /// <summary>Shorter than its opcode requires: dropped.</summary>
    TooShort,

    /// <summary>Opcode ≥ 128 is a response, not a request: "MUST silently ignore" (§3.5).</summary>
    NotARequest,

    /// <summary>Version other than 0: answered with result 1 (§3.5, erratum 3618).</summary>
    UnsupportedVersion,

    /// <summary>Opcode below 128 that is not 0, 1 or 2: answered with result 5 (§3.5).</summary>
    UnsupportedOpcode,
}
