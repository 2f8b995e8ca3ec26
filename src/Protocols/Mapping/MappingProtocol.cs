namespace PortMapper.Protocols.Mapping;

/// <summary>Transport protocol of a mapping, valued as its IANA protocol number.</summary>
public enum MappingProtocol : byte
{
    Tcp = 6,
    Udp = 17,
}
