namespace PortMapper.Protocols.Mapping;

/// <summary>Which front end created a lease.</summary>
public enum MappingOrigin : byte
{
    NatPmp = 1,
    Pcp = 2,
    Upnp = 3,
    Admin = 4,
    Static = 5,
}
