using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// UDP 1900 on one LAN interface, for IPv4 (group 239.255.255.250) or IPv6 (ff02::c): bound to the port on any
/// address, so multicast and unicast searches both arrive, but with SO_BINDTODEVICE only for this interface;
/// joined to the group there; multicast sent out of this interface with TTL (hop limit) 2 (UDA 1.1 §1.1.2).
/// <see cref="Address"/> is the LAN address descriptions are offered at.
/// </summary>
public sealed class SsdpSocket : IDisposable
{
    public SsdpSocket(LanInterface lan, IPAddress address)
    {
        Lan = lan;
        Address = address;
        bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        Group = new IPEndPoint(IPAddress.Parse(v6 ? SsdpCodec.MulticastAddress6 : SsdpCodec.MulticastAddress), SsdpCodec.Port);
        Socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Several interfaces each bind the wildcard address on 1900; SO_BINDTODEVICE keeps their traffic apart.
            Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            Socket.BindToDevice(lan.Name);
            if (v6)
            {
                Socket.DualMode = false;
                Socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.PacketInformation, true);
                Socket.Bind(new IPEndPoint(IPAddress.IPv6Any, SsdpCodec.Port));
                Socket.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.AddMembership, new IPv6MulticastOption(Group.Address, lan.Index));
            }
            else
            {
                Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.PacketInformation, true);
                Socket.Bind(new IPEndPoint(IPAddress.Any, SsdpCodec.Port));
                Socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(Group.Address, lan.Index));
            }

            Socket.SetMulticastScope(lan, address, hops: 2);
        }
        catch
        {
            Socket.Dispose();
            throw;
        }
    }

    public LanInterface Lan { get; }

    public IPAddress Address { get; }

    public IPEndPoint Group { get; }

    public bool IsIPv6 => Address.AddressFamily == AddressFamily.InterNetworkV6;

    public Socket Socket { get; }

    public void Dispose() => Socket.Dispose();
}
