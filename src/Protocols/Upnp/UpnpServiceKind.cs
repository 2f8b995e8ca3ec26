namespace PortMapper.Protocols.Upnp;

/// <summary>The services of the two device descriptions (IGD:1 and IGD:2), each at its own control URL.</summary>
public enum UpnpServiceKind
{
    Layer3Forwarding1,
    WanCommonInterfaceConfig1,
    WanIPConnection1,
    WanIPConnection2,
    WanIPv6FirewallControl1,
}
