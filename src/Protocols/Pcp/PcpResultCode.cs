namespace PortMapper.Protocols.Pcp;

/// <summary>PCP result codes (RFC 6887 §7.4).</summary>
public enum PcpResultCode : byte
{
    /// <summary>"0 SUCCESS: Success."</summary>
    Success = 0,

    /// <summary>"1 UNSUPP_VERSION: The version number at the start of the PCP Request header is not recognized." Long lifetime.</summary>
    UnsupportedVersion = 1,

    /// <summary>"2 NOT_AUTHORIZED: The requested operation is disabled for this PCP client." Long lifetime.</summary>
    NotAuthorized = 2,

    /// <summary>"3 MALFORMED_REQUEST: The request could not be successfully parsed." Long lifetime.</summary>
    MalformedRequest = 3,

    /// <summary>"4 UNSUPP_OPCODE: Unsupported Opcode." Long lifetime.</summary>
    UnsupportedOpcode = 4,

    /// <summary>"5 UNSUPP_OPTION: Unsupported option (only for options in the mandatory-to-process range)." Long lifetime.</summary>
    UnsupportedOption = 5,

    /// <summary>"6 MALFORMED_OPTION: Malformed option (e.g., appears too many times, invalid length)." Long lifetime.</summary>
    MalformedOption = 6,

    /// <summary>"7 NETWORK_FAILURE: ... (e.g., has not yet obtained an external IP address)." Short lifetime.</summary>
    NetworkFailure = 7,

    /// <summary>"8 NO_RESOURCES: ... insufficient resources to complete the requested operation at this time." Short lifetime.</summary>
    NoResources = 8,

    /// <summary>"9 UNSUPP_PROTOCOL: Unsupported transport protocol, e.g., SCTP in a NAT that handles only UDP and TCP." Long lifetime.</summary>
    UnsupportedProtocol = 9,

    /// <summary>"10 USER_EX_QUOTA: This attempt to create a new mapping would exceed this subscriber's port quota." Short lifetime.</summary>
    UserExceededQuota = 10,

    /// <summary>"11 CANNOT_PROVIDE_EXTERNAL: The suggested external port and/or external address cannot be provided." Short lifetime.</summary>
    CannotProvideExternal = 11,

    /// <summary>"12 ADDRESS_MISMATCH: The source IP address of the request packet does not match the contents of the PCP Client's IP Address field." Long lifetime.</summary>
    AddressMismatch = 12,

    /// <summary>"13 EXCESSIVE_REMOTE_PEERS: The PCP server was not able to create the filters in this request." Long lifetime.</summary>
    ExcessiveRemotePeers = 13,
}
