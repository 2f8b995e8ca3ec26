using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PortMapper.Gateway.Network;

/// <summary>Socket options that keep a LAN service's traffic on its LAN.</summary>
public static class LanSocketOptions
{
    private const int SolSocket = 1;
    private const int SoBindToDevice = 25;

    /// <summary>SO_BINDTODEVICE: the socket sends and receives through this interface only, whatever the routes say.</summary>
    public static void BindToDevice(this Socket socket, string interfaceName) =>
        socket.SetRawSocketOption(SolSocket, SoBindToDevice, Encoding.ASCII.GetBytes(interfaceName + "\0"));

    /// <summary>
    /// Multicast sent on the socket leaves through this LAN (for IPv4, from <paramref name="address"/>), with this TTL
    /// or hop limit, and is not looped back to the gateway itself.
    /// </summary>
    public static void SetMulticastScope(this Socket socket, LanInterface lan, IPAddress address, int hops)
    {
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastInterface, lan.Index);
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastTimeToLive, hops);
            socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.MulticastLoopback, false);
        }
        else
        {
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, address.GetAddressBytes());
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, hops);
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, false);
        }
    }
}
