namespace PortMapper.Protocols.NatPmp;

/// <summary>NAT-PMP result codes (RFC 6886 §3.5).</summary>
public enum NatPmpResultCode : ushort
{
    /// <summary>"0 - Success".</summary>
    Success = 0,

    /// <summary>"1 - Unsupported Version".</summary>
    UnsupportedVersion = 1,

    /// <summary>"2 - Not Authorized/Refused (e.g., box supports mapping, but user has turned feature off)".</summary>
    NotAuthorized = 2,

    /// <summary>"3 - Network Failure (e.g., NAT box itself has not obtained a DHCP lease)".</summary>
    NetworkFailure = 3,

    /// <summary>"4 - Out of resources (NAT box cannot create any more mappings at this time)".</summary>
    OutOfResources = 4,

    /// <summary>"5 - Unsupported opcode".</summary>
    UnsupportedOpcode = 5,
}
