using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>
/// The connection-tracking flows that one ended mapping or media port admitted, and no others:
/// <list type="bullet">
/// <item>Inbound: flows that began toward <see cref="Address"/>:<see cref="Port"/> (from <see cref="From"/> when
/// given) and, when <see cref="InternalAddress"/> is given, were translated to <see cref="InternalAddress"/>:<see cref="InternalPort"/>.</item>
/// <item>Outbound, when <see cref="InternalAddress"/> is given: flows that began from the internal endpoint and
/// were translated to leave from <see cref="Address"/>:<see cref="Port"/> (port preservation, PCP PEER).</item>
/// </list>
/// Another host's masqueraded flow that happens to use the same external port, and the gateway's own flows,
/// match neither.
/// </summary>
public readonly record struct FlowEndpoint(
    IPAddress Address,
    TransportProtocol Protocol,
    ushort Port,
    IPAddress? From = null,
    IPAddress? InternalAddress = null,
    ushort InternalPort = 0);
