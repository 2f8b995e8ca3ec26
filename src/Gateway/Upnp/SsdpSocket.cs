using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Network;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// UDP 1900 on one LAN interface: bound to the port on any address (multicast and unicast searches both
/// arrive) but, with SO_BINDTODEVICE, only for this interface; joined to the SSDP group there; multicast sent
/// out of this interface with TTL 2 (UDA 1.1 §1.1.2).
/// </summary>
public sealed class SsdpSocket : IDisposable
{
    public SsdpSocket(LanInterface lan, IPAddress address, IPAddress group)
    {
        Lan = lan;
        Address = address;
        Socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Several interfaces each bind 0.0.0.0:1900; SO_BINDTODEVICE keeps their traffic apart.
            Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            Socket.BindToDevice(lan.Name);
            Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
            Socket.Bind(new IPEndPoint(IPAddress.Any, Protocols.Upnp.SsdpCodec.Port));
            Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(group, lan.Index));
            Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, address.GetAddressBytes());
            Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 2);
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
