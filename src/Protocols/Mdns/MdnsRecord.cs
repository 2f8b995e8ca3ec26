namespace PortMapper.Protocols.Mdns;

/// <summary>
/// A record to send: owner name, type, TTL and the RDATA already encoded. <see cref="Unique"/> records carry the
/// cache-flush bit (RFC 6762 §10.2); shared ones (PTR) do not.
/// </summary>
public sealed record MdnsRecord(string Name, DnsType Type, uint Ttl, byte[] Data, bool Unique)
{
    public MdnsRecord WithTtl(uint ttl) => this with { Ttl = ttl };
}
