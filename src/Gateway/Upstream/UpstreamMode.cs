namespace PortMapper.Gateway.Upstream;

/// <summary>
/// How mappings are carried to the gateway upstream (double NAT, carrier-grade NAT). <see cref="Auto"/> looks
/// for an upstream server only while the WAN address is not a global one, trying PCP, then NAT-PMP, then UPnP IGD.
/// </summary>
public enum UpstreamMode
{
    Auto,
    Pcp,
    NatPmp,
    Upnp,
    Off,
}
