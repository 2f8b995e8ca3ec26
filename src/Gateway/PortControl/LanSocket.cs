using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Network;

namespace PortMapper.Gateway.PortControl;

/// <summary>
/// A UDP socket bound, with SO_BINDTODEVICE, to one LAN interface: a datagram that arrives on any other
/// interface (the WAN) never reaches it, whatever address it was sent to. IPv4 sockets are bound to one LAN
/// address; the IPv6 socket to [::], so requests to the link-local router address arrive too.
/// </summary>
public sealed class LanSocket : IDisposable
{
    public LanSocket(LanInterface lan, IPAddress address, int port)
    {
        Lan = lan;
        Address = address;
        Socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // No SO_REUSEADDR: on Linux it would let a second UDP socket bind the same port and share our traffic.
            Socket.BindToDevice(lan.Name);
            if (address.AddressFamily == AddressFamily.InterNetworkV6)
            {
                Socket.DualMode = false;
                Socket.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
            }
            else
            {
                Socket.Bind(new IPEndPoint(address, port));
            }

            // Announcements: out of this interface only, never routed beyond the link.
            Socket.SetMulticastScope(lan, address, hops: 1);

            // Sends never wait (a full send buffer drops the datagram); receives are asynchronous anyway.
            Socket.Blocking = false;
        }
        catch
        {
            Socket.Dispose();
            throw;
        }
    }

    public LanInterface Lan { get; }

    public IPAddress Address { get; }

    public Socket Socket { get; }

    public bool IsIPv6 => Address.AddressFamily == AddressFamily.InterNetworkV6;

    public void Dispose() => Socket.Dispose();
}
