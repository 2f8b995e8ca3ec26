using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.NatPmp;

namespace PortMapper.Gateway.Upstream;

/// <summary>Receives an announcement datagram from the upstream server.</summary>
internal delegate void AnnouncementHandler(ReadOnlySpan<byte> datagram);

/// <summary>
/// UDP 5350 on the WAN interface, where an upstream PCP or NAT-PMP server announces a restart or a new address
/// (224.0.0.1 and unicast, RFC 6887 §14.1.3, RFC 6886 §3.2.1). Only the server's datagrams from port 5351 count;
/// nothing is ever sent from this socket.
/// </summary>
internal sealed class AnnouncementListener : IDisposable
{
    private static readonly IPAddress s_allHosts = IPAddress.Parse("224.0.0.1");

    private readonly Socket _socket;
    private readonly IPAddress _server;
    private readonly AnnouncementHandler _handler;
    private readonly CancellationTokenSource _stop = new();

    private AnnouncementListener(Socket socket, IPAddress server, AnnouncementHandler handler)
    {
        _socket = socket;
        _server = server;
        _handler = handler;
        _ = ReceiveLoopAsync();
    }

    /// <summary>Null when the port cannot be had (mappings are still carried; restarts are then found by the minute's check).</summary>
    public static AnnouncementListener? TryStart(string wanInterface, IPAddress wanAddress, IPAddress server, AnnouncementHandler handler, ILogger logger)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.BindToDevice(wanInterface);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(new IPEndPoint(IPAddress.Any, NatPmpCodec.ClientPort));
            socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(s_allHosts, wanAddress));
            return new AnnouncementListener(socket, server, handler);
        }
        catch (SocketException e)
        {
            Log.UpstreamListenFailed(logger, wanInterface, e.SocketErrorCode.ToString());
            socket.Dispose();
            return null;
        }
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[1100];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            if (received.RemoteEndPoint is IPEndPoint source && source.Address.Equals(_server) && source.Port == NatPmpCodec.ServerPort)
            {
                _handler(buffer.AsSpan(0, received.ReceivedBytes));
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
    }
}
