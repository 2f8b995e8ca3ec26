using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using PortMapper.Gateway.Rtsp;
using PortMapper.KernelBackend;
using PortMapper.KernelBackend.Netlink;
using PortMapper.Protocols.Ip;
using PortMapper.Protocols.Mdns;
using PortMapper.Protocols.Rtsp;

namespace PortMapper.Fuzz;

/// <summary>The RTSP helper's input (from the LAN client and from the WAN server), the NFLOG copies it reads, and mDNS.</summary>
internal static class MediaTargets
{
    private static readonly IPAddress s_server = IPAddress.Parse("198.51.100.7");
    private static readonly ServiceAdvertisement s_advertisement = new(
        "PortMapper on gw", "_http._tcp", "gw-portmapper", IPAddress.Parse("192.168.77.1"), 8080, "path=/");

    /// <summary>
    /// Input: the message reader and the Transport/Session parsers on the whole input; then the input as the segments
    /// of one control connection, each "[flags][length][payload]": flags bit 0 from the server, bit 1 RST, bit 2 FIN,
    /// bit 3 a sequence number from before the last one (a retransmission or reordering).
    /// </summary>
    public static void Rtsp(byte[] input)
    {
        RtspReadResult read = RtspMessageReader.Read(input);
        // A message lies within what was read; an interleaved frame may run on (its length is what to skip).
        InvariantException.Check(read.Status != RtspReadStatus.Message || (read.Length > 0 && read.Length <= input.Length), $"a message of {read.Length} octets from {input.Length}");
        InvariantException.Check(read.Status != RtspReadStatus.Interleaved || read.Length >= 4, $"an interleaved frame of {read.Length} octets");
        string text = Encoding.Latin1.GetString(input);
        var specs = new List<RtspTransportSpec>();
        if (RtspTransportParser.TryParse(text, specs) == RtspTransportError.None)
        {
            InvariantException.Check(specs.Count > 0, "a Transport header with no specification");
        }

        _ = RtspMessageReader.TryReadSession(text, out _, out _);

        var tracker = new RtspTracker(new RtspTrackerOptions((client, port) => port >= 1024), NullLogger.Instance);
        var changes = new List<MediaChange>();
        DateTimeOffset now = FuzzGateway.Now;
        uint clientSequence = 1000, serverSequence = 5000;
        tracker.OnSegment(new TcpSegment(FuzzGateway.Client4, 40000, s_server, 554, clientSequence++, TcpFlags.Syn, []), true, now, changes);
        tracker.OnSegment(new TcpSegment(s_server, 554, FuzzGateway.Client4, 40000, serverSequence++, TcpFlags.Syn | TcpFlags.Ack, []), false, now, changes);
        for (int at = 0; at + 2 <= input.Length;)
        {
            byte flags = input[at];
            int length = Math.Min(input[at + 1], input.Length - at - 2);
            ReadOnlySpan<byte> payload = input.AsSpan(at + 2, length);
            at += 2 + length;
            bool fromServer = (flags & 1) != 0;
            ref uint sequence = ref fromServer ? ref serverSequence : ref clientSequence;
            uint sent = (flags & 8) != 0 ? sequence - (uint)(flags >> 4) * 7 : sequence;
            if ((flags & 8) == 0)
            {
                sequence += (uint)length;
            }

            TcpFlags tcp = TcpFlags.Ack | TcpFlags.Psh | ((flags & 2) != 0 ? TcpFlags.Rst : 0) | ((flags & 4) != 0 ? TcpFlags.Fin : 0);
            TcpSegment segment = fromServer
                ? new TcpSegment(s_server, 554, FuzzGateway.Client4, 40000, sent, tcp, payload)
                : new TcpSegment(FuzzGateway.Client4, 40000, s_server, 554, sent, tcp, payload);
            tracker.OnSegment(segment, !fromServer, now, changes);
            now += TimeSpan.FromMilliseconds(10);
        }

        CheckMedia(changes, tracker, FuzzGateway.Client4, s_server);

        // Everything a connection opened times out with it: nothing is left once the sessions are long idle.
        tracker.Sweep(now + TimeSpan.FromHours(2), changes);
        InvariantException.Check(tracker.Connections == 0 && tracker.OpenPorts == 0, $"{tracker.Connections} connections and {tracker.OpenPorts} media ports left after two idle hours");
    }

    /// <summary>Input: one NFLOG netlink datagram, as the helper receives it; each packet with an RTSP prefix goes to the tracker.</summary>
    public static void Nflog(byte[] input)
    {
        var packets = new List<LoggedPacket>();
        NflogSocket.Read(input, packets);
        var tracker = new RtspTracker(new RtspTrackerOptions((client, port) => true), NullLogger.Instance);
        var changes = new List<MediaChange>();
        foreach (LoggedPacket packet in packets)
        {
            InvariantException.Check(packet.Packet.Length <= input.Length && packet.Prefix.Length <= input.Length, "a packet larger than its datagram");
            bool fromClient = packet.Prefix.Span.SequenceEqual(Encoding.ASCII.GetBytes(FirewallOptions.RtspFromClientPrefix));
            if (IpPacketReader.TryReadTcp(packet.Packet.Span, out TcpSegment segment) != IpPacketError.None)
            {
                continue;
            }

            InvariantException.Check(segment.Payload.Length < packet.Packet.Length, "a TCP payload as long as its packet");
            tracker.OnSegment(segment, fromClient, FuzzGateway.Now, changes);
        }

        CheckMedia(changes, tracker);
    }

    /// <summary>Input: one mDNS query; the answer is what the gateway's advertisement says, written and read back.</summary>
    public static void Mdns(byte[] input)
    {
        if (MdnsCodec.TryReadQuery(input, out ushort id, out List<MdnsQuestion> questions) != MdnsDecodeError.None)
        {
            return;
        }

        var answers = new List<MdnsRecord>();
        var additional = new List<MdnsRecord>();
        foreach (MdnsQuestion question in questions)
        {
            var (a, extra) = s_advertisement.Answer(question);
            answers.AddRange(a.Where(r => !answers.Contains(r)));
            additional.AddRange(extra.Where(r => !additional.Contains(r) && !answers.Contains(r)));
        }

        InvariantException.Check(answers.Count <= 8 && additional.Count <= 8, $"{answers.Count} answers, {additional.Count} additional records");
        byte[] response = MdnsCodec.WriteResponse(id, [.. questions.Take(4)], answers, additional);
        InvariantException.Check(response.Length <= 9000, $"an mDNS answer of {response.Length} octets");
    }

    /// <summary>Media ports open only for the client of the tracked connection (when known), and never more than allowed.</summary>
    private static void CheckMedia(List<MediaChange> changes, RtspTracker tracker, IPAddress? client = null, IPAddress? server = null)
    {
        foreach (MediaChange change in changes.Where(c => c.Kind == MediaChangeKind.Open))
        {
            InvariantException.Check(client is null || change.Opening.Client.Equals(client), $"media opened for {change.Opening.Client}, not the connection's client");
            InvariantException.Check(server is null || change.Opening.Server.Equals(server), $"media opened from {change.Opening.Server}, not the connection's server");
        }

        InvariantException.Check(tracker.OpenPorts <= 16 * Math.Max(tracker.Connections, 1), $"{tracker.OpenPorts} media ports for {tracker.Connections} connections");
    }
}
