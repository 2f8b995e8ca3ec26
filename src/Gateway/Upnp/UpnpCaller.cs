using System.Net;
using PortMapper.Gateway.Network;

namespace PortMapper.Gateway.Upnp;

/// <summary>Who sent a control request, and on which LAN it arrived.</summary>
public sealed record UpnpCaller(IPAddress Address, LanInterface Lan);
