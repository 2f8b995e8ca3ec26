using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using PortMapper.KernelBackend.Host;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// The gateway's own ports from the kernel's socket diagnostics (NETLINK_SOCK_DIAG, what <c>ss</c> uses): TCP
/// listeners from the listening hash alone, and bound UDP sockets, kernel sockets included. Reading
/// <c>/proc/net/tcp</c> walks every bucket of the established hash instead, which took 5 ms per file on a machine
/// with much memory, on the request path; that reader stays as the fallback when sock_diag is not there.
/// Thread-safe.
/// </summary>
public sealed class SocketDiag : IHostPorts, IDisposable
{
    private const int NetlinkSockDiag = 4;
    private const ushort SockDiagByFamily = 20;
    private const ushort NlmsgDone = 3;
    private const int RequestLength = NfnetlinkMessage.HeaderLength + 56;
    private const int MessageLength = 72;
    private const int TcpListen = 10;

    private readonly Lock _lock = new();
    private readonly Socket? _socket;
    private readonly byte[] _buffer = new byte[32 * 1024];
    private readonly IHostPorts _fallback;
    private uint _sequence;

    public SocketDiag(IHostPorts? fallback = null)
    {
        _fallback = fallback ?? new ProcNetPorts();
        try
        {
            _socket = NetlinkSocket.Open(NetlinkSockDiag, 0);
            _socket.ReceiveTimeout = 1000;
        }
        catch (SocketException)
        {
            _socket = null;
        }
    }

    public HostPortSet Read(IPAddress? externalAddress, TransportProtocol? only = null)
    {
        if (_socket is null)
        {
            return _fallback.Read(externalAddress, only);
        }

        var tcp = new HashSet<ushort>();
        var udp = new HashSet<ushort>();
        lock (_lock)
        {
            try
            {
                foreach (byte family in (ReadOnlySpan<byte>)[2, 10])
                {
                    if (only is null or TransportProtocol.Tcp)
                    {
                        Dump(family, (byte)ProtocolType.Tcp, 1u << TcpListen, externalAddress, tcp);
                    }

                    if (only is null or TransportProtocol.Udp)
                    {
                        Dump(family, (byte)ProtocolType.Udp, uint.MaxValue, externalAddress, udp);
                    }
                }
            }
            catch (Exception e) when (e is SocketException or InvalidDataException)
            {
                return _fallback.Read(externalAddress, only);
            }
        }

        return new HostPortSet(tcp, udp);
    }

    public void Dispose() => _socket?.Dispose();

    /// <summary>nlmsghdr, then struct inet_diag_req_v2 { family, protocol, ext, pad, states, inet_diag_sockid (48 octets) }.</summary>
    internal static byte[] Request(byte family, byte protocol, uint states, uint sequence)
    {
        byte[] message = new byte[RequestLength];
        BinaryPrimitives.WriteUInt32LittleEndian(message, RequestLength);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), SockDiagByFamily);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), NfnetlinkMessage.FlagRequest | 0x300); // NLM_F_DUMP
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        message[NfnetlinkMessage.HeaderLength] = family;
        message[NfnetlinkMessage.HeaderLength + 1] = protocol;
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(NfnetlinkMessage.HeaderLength + 4), states);
        return message;
    }

    /// <summary>
    /// One struct inet_diag_msg { family, state, timer, retrans, inet_diag_sockid { sport, dport, src[16], dst[16], if,
    /// cookie }, ... }: its local address and port. False when it is too short.
    /// </summary>
    internal static bool TryParse(ReadOnlySpan<byte> message, out IPAddress local, out ushort port)
    {
        local = IPAddress.None;
        port = 0;
        if (message.Length < MessageLength || message[0] is not (2 or 10))
        {
            return false;
        }

        port = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        local = new IPAddress(message.Slice(8, message[0] == 2 ? 4 : 16));
        return true;
    }

    private void Dump(byte family, byte protocol, uint states, IPAddress? externalAddress, HashSet<ushort> ports)
    {
        uint sequence = ++_sequence;
        _socket!.Send(Request(family, protocol, states, sequence));
        while (true)
        {
            var messages = new NetlinkMessages(_buffer.AsSpan(0, _socket.Receive(_buffer)));
            while (messages.MoveNext())
            {
                if (messages.Sequence != sequence)
                {
                    continue; // the late answer of an earlier, timed-out dump
                }

                switch (messages.Type)
                {
                    case NlmsgDone:
                        return;
                    case NfnetlinkMessage.NlmsgError:
                        throw new InvalidDataException("sock_diag: the kernel refused the dump");
                    case SockDiagByFamily when TryParse(messages.Payload, out IPAddress local, out ushort port)
                        && ProcNetPorts.IsWildcardOrExternal(local, externalAddress):
                        ports.Add(port);
                        break;
                }
            }

            if (messages.Truncated)
            {
                throw new InvalidDataException("sock_diag: a message runs past the datagram");
            }
        }
    }
}
