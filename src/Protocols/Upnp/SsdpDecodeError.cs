namespace PortMapper.Protocols.Upnp;

/// <summary>Why a datagram on the SSDP port gets no answer.</summary>
public enum SsdpDecodeError
{
    None,

    /// <summary>Not an M-SEARCH (NOTIFY from other devices, responses): nothing to answer.</summary>
    NotSearch,

    /// <summary>Not an HTTP-over-UDP request, a header line without a colon, or too long.</summary>
    Malformed,

    /// <summary>MAN is not "ssdp:discover".</summary>
    BadMan,

    /// <summary>MX missing or not a number on a multicast search.</summary>
    BadMx,

    /// <summary>No ST header.</summary>
    NoSearchTarget,
}
