using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>
/// An endpoint whose connection-tracking flows are to be ended: every flow whose original or reply direction is
/// addressed to it (inbound through a mapping, hairpinned, or outbound translated to it), and, when
/// <paramref name="From"/> is given, comes from that address.
/// </summary>
public readonly record struct FlowEndpoint(IPAddress Address, TransportProtocol Protocol, ushort Port, IPAddress? From = null);
