namespace PortMapper.Protocols.Mdns;

/// <summary>One question of a query. <see cref="UnicastResponse"/> is the QU bit (RFC 6762 §5.4).</summary>
public readonly record struct MdnsQuestion(string Name, DnsType Type, bool UnicastResponse);
