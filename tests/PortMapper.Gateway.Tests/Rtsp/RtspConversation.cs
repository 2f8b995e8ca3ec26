using System.Net;
using System.Text;
using PortMapper.Gateway.Rtsp;
using PortMapper.Protocols.Ip;

namespace PortMapper.Gateway.Tests.Rtsp;

/// <summary>
/// One control connection as the gateway's log rules would copy it to the tracker: both directions with their own
/// sequence numbers, each message sent whole or cut into segments.
/// </summary>
internal sealed class RtspConversation
{
    private readonly RtspTracker _tracker;
    private uint _clientSeq;
    private uint _serverSeq;

    public RtspConversation(RtspTracker tracker, IPAddress client, ushort clientPort, IPAddress server, uint clientIsn = 3458642898, uint serverIsn = 1816354408)
    {
        _tracker = tracker;
        Client = client;
        ClientPort = clientPort;
        Server = server;
        _clientSeq = clientIsn;
        _serverSeq = serverIsn;
    }

    public IPAddress Client { get; }

    public ushort ClientPort { get; }

    public IPAddress Server { get; }

    public ushort ServerPort { get; } = 554;

    public DateTimeOffset Now { get; set; } = new(2026, 12, 1, 21, 0, 0, TimeSpan.Zero);

    public List<MediaChange> Changes { get; } = [];

    public RtspConversation Handshake()
    {
        FromClient(TcpFlags.Syn, _clientSeq, []);
        _clientSeq++;
        FromServer(TcpFlags.Syn | TcpFlags.Ack, _serverSeq, []);
        _serverSeq++;
        FromClient(TcpFlags.Ack, _clientSeq, []);
        return this;
    }

    /// <summary>The client sends text, cut into segments of at most <paramref name="segment"/> octets.</summary>
    public RtspConversation ClientSends(string text, int segment = int.MaxValue) => Send(text, segment, fromClient: true);

    public RtspConversation ServerSends(string text, int segment = int.MaxValue) => Send(text, segment, fromClient: false);

    public RtspConversation ServerSendsBytes(byte[] data)
    {
        FromServer(TcpFlags.Ack | TcpFlags.Psh, _serverSeq, data);
        _serverSeq += (uint)data.Length;
        return this;
    }

    /// <summary>A segment the log copy of which was lost: the sequence moves on, the tracker sees nothing.</summary>
    public RtspConversation ClientLoses(string text)
    {
        _clientSeq += (uint)Encoding.UTF8.GetByteCount(text);
        return this;
    }

    /// <summary>The client sends again what it sent last (a retransmission).</summary>
    public RtspConversation ClientRetransmits(string text)
    {
        byte[] data = Encoding.UTF8.GetBytes(text);
        FromClient(TcpFlags.Ack | TcpFlags.Psh, _clientSeq - (uint)data.Length, data);
        return this;
    }

    public RtspConversation ClientFin()
    {
        FromClient(TcpFlags.Fin | TcpFlags.Ack, _clientSeq, []);
        _clientSeq++;
        return this;
    }

    /// <summary>A RST or FIN in the server's name with a sequence number far from the stream's (forged from outside).</summary>
    public RtspConversation ForgedServerEnd(TcpFlags flag)
    {
        FromServer(flag | TcpFlags.Ack, _serverSeq + 1_000_000, []);
        return this;
    }

    public RtspConversation ServerRst()
    {
        FromServer(TcpFlags.Rst, _serverSeq, []);
        return this;
    }

    public RtspConversation Sweep(TimeSpan later)
    {
        Now += later;
        _tracker.Sweep(Now, Changes);
        return this;
    }

    private RtspConversation Send(string text, int segment, bool fromClient)
    {
        byte[] data = Encoding.UTF8.GetBytes(text);
        for (int at = 0; at < data.Length; at += segment)
        {
            byte[] piece = data[at..Math.Min(data.Length, at + segment)];
            if (fromClient)
            {
                FromClient(TcpFlags.Ack | TcpFlags.Psh, _clientSeq, piece);
                _clientSeq += (uint)piece.Length;
            }
            else
            {
                FromServer(TcpFlags.Ack | TcpFlags.Psh, _serverSeq, piece);
                _serverSeq += (uint)piece.Length;
            }
        }

        return this;
    }

    private void FromClient(TcpFlags flags, uint seq, byte[] payload) =>
        _tracker.OnSegment(new TcpSegment(Client, ClientPort, Server, ServerPort, seq, flags, payload), fromClient: true, Now, Changes);

    private void FromServer(TcpFlags flags, uint seq, byte[] payload) =>
        _tracker.OnSegment(new TcpSegment(Server, ServerPort, Client, ClientPort, seq, flags, payload), fromClient: false, Now, Changes);
}
