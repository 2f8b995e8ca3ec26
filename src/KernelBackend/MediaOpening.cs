using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>
/// One media port a protocol helper opened (RTSP SETUP): UDP from <paramref name="Server"/> to the client's
/// <paramref name="Port"/>. IPv4 also translates: the server sends to the external address and that port, which
/// the kernel sends on to the client's same port. IPv6 needs only the firewall to let it in.
/// </summary>
public readonly record struct MediaOpening(IPAddress Server, IPAddress Client, ushort Port)
{
    public bool IsIPv6 => Client.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
}
