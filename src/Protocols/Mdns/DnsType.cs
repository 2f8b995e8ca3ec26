namespace PortMapper.Protocols.Mdns;

/// <summary>Resource record types the advertiser answers (RFC 1035 §3.2.2, RFC 2782, RFC 3596).</summary>
public enum DnsType : ushort
{
    A = 1,
    Ptr = 12,
    Txt = 16,
    Aaaa = 28,
    Srv = 33,
    Any = 255,
}
