namespace PortMapper.Protocols.Mdns;

/// <summary>Why a datagram on the mDNS port gets no answer.</summary>
public enum MdnsDecodeError
{
    None,

    /// <summary>Shorter than a header, or a count runs past the end.</summary>
    Truncated,

    /// <summary>A response (QR set), or a query with a non-zero opcode or rcode (RFC 6762 §18): ignored.</summary>
    NotQuery,

    /// <summary>A name with a bad label, a pointer loop or forward pointer, or over 255 octets.</summary>
    BadName,
}
