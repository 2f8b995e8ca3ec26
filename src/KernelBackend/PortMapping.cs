using System.Net;
using System.Net.Sockets;

namespace PortMapper.KernelBackend;

/// <summary>
/// One mapping as the kernel sees it, identified by <see cref="Id"/>.
/// <list type="bullet">
/// <item>IPv4 internal address: inbound packets for the external address and <see cref="ExternalPort"/> are
/// translated to <see cref="InternalAddress"/>:<see cref="InternalPort"/>.</item>
/// <item>IPv6 internal address: a firewall pinhole to that address and port, no translation.</item>
/// <item>With <see cref="RemotePeer"/> (IPv4): outbound packets from the internal endpoint to that peer leave
/// with <see cref="ExternalPort"/>.</item>
/// </list>
/// <see cref="Filters"/>, when not empty, limit who may come in. <see cref="Timeout"/> is the time left; the
/// kernel removes the entries by itself when it runs out. Null means permanent.
/// </summary>
public readonly record struct PortMapping(
    TransportProtocol Protocol,
    ushort ExternalPort,
    IPAddress InternalAddress,
    ushort InternalPort,
    TimeSpan? Timeout,
    long Id = 0,
    IReadOnlyList<RemoteFilter>? Filters = null,
    IPEndPoint? RemotePeer = null)
{
    public bool IsPinhole => InternalAddress.AddressFamily == AddressFamily.InterNetworkV6;

    public bool IsPeer => RemotePeer is not null;

    public IReadOnlyList<RemoteFilter> FilterList => Filters ?? [];
}
