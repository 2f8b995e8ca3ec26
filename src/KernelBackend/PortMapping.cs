using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>
/// One inbound mapping as the kernel sees it: packets for the external address and
/// <see cref="ExternalPort"/> go to <see cref="InternalAddress"/>:<see cref="InternalPort"/>.
/// <see cref="Timeout"/> is the time left; the kernel removes the entry by itself when it runs out.
/// Null means permanent.
/// </summary>
public readonly record struct PortMapping(
    TransportProtocol Protocol,
    ushort ExternalPort,
    IPAddress InternalAddress,
    ushort InternalPort,
    TimeSpan? Timeout);
