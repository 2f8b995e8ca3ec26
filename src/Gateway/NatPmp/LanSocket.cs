using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Gateway.Network;

namespace PortMapper.Gateway.NatPmp;

/// <summary>
/// A UDP socket bound to one LAN address and, with SO_BINDTODEVICE, to its interface: a datagram that
/// arrives on any other interface (the WAN) never reaches it, whatever address it was sent to.
/// </summary>
public sealed class LanSocket : IDisposable
{
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;

    public LanSocket(LanInterface lan, IPAddress address, int port)
    {
        Lan = lan;
        Address = address;
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // No SO_REUSEADDR: on Linux it would let a second UDP socket bind the same port and share our traffic.
            Socket.SetRawSocketOption(SolSocket, SoBindToDevice, Encoding.ASCII.GetBytes(lan.Name + "\0"));
            Socket.Bind(new IPEndPoint(address, port));

            // Announcements: out of this interface only, never routed beyond the link.
            Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, address.GetAddressBytes());
            Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 1);
            Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, false);
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

    public void Dispose() => Socket.Dispose();
}
