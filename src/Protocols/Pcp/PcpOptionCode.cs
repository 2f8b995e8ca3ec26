namespace PortMapper.Protocols.Pcp;

/// <summary>PCP option codes (RFC 6887 §13, §19.3). Codes 0-127 are mandatory to process, 128-255 optional.</summary>
public enum PcpOptionCode : byte
{
    /// <summary>§13.1: the mapping is for another host (16-octet internal address).</summary>
    ThirdParty = 1,

    /// <summary>§13.2: fail with CANNOT_PROVIDE_EXTERNAL rather than assign another port (MAP only, no data).</summary>
    PreferFailure = 2,

    /// <summary>§13.3: only this remote prefix and port may use the mapping (MAP only, 20 octets, may repeat).</summary>
    Filter = 3,

    /// <summary>RFC 7220: a text describing the mapping, stored with it and returned in the response (optional: code 128+).</summary>
    Description = 128,
}
