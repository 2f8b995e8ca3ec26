namespace PortMapper.Protocols.Ip;

/// <summary>Why a logged packet is not a TCP segment that can be read.</summary>
public enum IpPacketError
{
    None,

    /// <summary>Shorter than its headers say, or a header length below the minimum.</summary>
    Truncated,

    /// <summary>Neither IPv4 nor IPv6.</summary>
    BadVersion,

    /// <summary>Not TCP (after IPv6 extension headers).</summary>
    NotTcp,

    /// <summary>A fragment: the TCP header or payload is not all here.</summary>
    Fragment,
}
