using System.Net;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Logging;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Ip;
using PortMapper.Protocols.Rtsp;

namespace PortMapper.Gateway.Rtsp;

/// <summary>
/// The RTSP helper's logic, without sockets or kernel: it follows LAN clients' control connections from their SYN,
/// rebuilds each direction as a byte stream, reads SETUP requests and their answers, and says which media ports to
/// open (exactly the client ports the server accepted, from that server only), extend, and close (TEARDOWN, the
/// connection's end, or the session's timeout). A connection not seen from its start is never read: a message is
/// only taken where a message can start, never out of the middle of a stream (NAT slipstreaming). Anything
/// malformed stops the reading of that connection, so it opens nothing more. Not thread-safe.
/// </summary>
public sealed class RtspTracker
{
    private readonly RtspTrackerOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<RtspConnectionKey, RtspConnection> _connections = [];

    // Who holds each media port. IPv4 ports are ports of the external address, so one server's port can serve one
    // client only (the client is left out of the key); IPv6 ports are the clients' own.
    private readonly Dictionary<MediaOpening, RtspConnection> _owners = [];
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private readonly List<RtspTransportSpec> _specs = [];

    public RtspTracker(RtspTrackerOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
    }

    public int Connections => _connections.Count;

    public int OpenPorts => _owners.Count;

    /// <summary>A segment of a control connection; <paramref name="fromClient"/> when it goes from the LAN client to the server.</summary>
    public void OnSegment(in TcpSegment segment, bool fromClient, DateTimeOffset now, List<MediaChange> changes)
    {
        RtspConnectionKey key = fromClient
            ? new(segment.Source, segment.SourcePort, segment.Destination, segment.DestinationPort)
            : new(segment.Destination, segment.DestinationPort, segment.Source, segment.SourcePort);
        bool opening = fromClient && segment.Has(TcpFlags.Syn) && !segment.Has(TcpFlags.Ack);
        if (!_connections.TryGetValue(key, out RtspConnection? connection))
        {
            if (opening && !segment.Has(TcpFlags.Rst))
            {
                Track(key, segment.Sequence, now);
            }

            return;
        }

        connection.LastPacket = now;
        RtspHalfStream sender = fromClient ? connection.FromClient : connection.FromServer;
        if (segment.Has(TcpFlags.Rst))
        {
            // Believed only in the sender's window: a forged RST from the WAN must not close a session's ports.
            if (!sender.Synced || InWindow(sender, segment.Sequence))
            {
                Close(connection, changes);
            }
            else
            {
                Log.RtspSegmentIgnored(_logger, connection.Key.Client, connection.Key.Server, "RST outside the window");
            }

            return;
        }

        if (opening)
        {
            // A retransmitted SYN changes nothing; a new one on the same ports is a new connection.
            if (connection.FromClient.Next != segment.Sequence + 1)
            {
                Close(connection, changes);
                Track(key, segment.Sequence, now);
            }

            return;
        }

        if (!fromClient && segment.Has(TcpFlags.Syn))
        {
            // The server's answer to the client's SYN (SYN+ACK), once; a bare SYN from outside is not one.
            if (segment.Has(TcpFlags.Ack) && !connection.FromServer.Synced)
            {
                connection.FromServer.Start(segment.Sequence);
            }

            return;
        }

        if (fromClient && segment.Has(TcpFlags.Ack) && connection.FromServer.Synced)
        {
            connection.Established = true;
        }

        // The server's side is read only once the client has answered its SYN+ACK (the connection is established).
        RtspHalfStream half = sender;
        if (half.Synced && !connection.Broken && !segment.Payload.IsEmpty && (fromClient || connection.Established))
        {
            Feed(connection, half, fromClient, half.New(segment.Sequence, segment.Payload), now, changes);
        }

        if (segment.Has(TcpFlags.Fin))
        {
            // An in-order FIN ends the connection; one out of order (or forged) is left to the idle timeout.
            if (!half.Synced || half.Next == segment.Sequence + (uint)segment.Payload.Length)
            {
                Close(connection, changes);
            }
            else
            {
                Log.RtspSegmentIgnored(_logger, connection.Key.Client, connection.Key.Server, "FIN out of sequence");
            }
        }
    }

    /// <summary>Within 64 KiB of the next octet expected from that side: what a real RST carries (RFC 5961 §3 is stricter).</summary>
    private static bool InWindow(RtspHalfStream half, uint sequence) => sequence - half.Next < 65536u;

    /// <summary>Closes what timed out: sessions without a request for their port timeout, idle connections that opened nothing.</summary>
    public void Sweep(DateTimeOffset now, List<MediaChange> changes)
    {
        foreach (RtspConnection connection in _connections.Values.ToList())
        {
            bool lapsed = connection.Streams.Count > 0
                ? now - connection.LastRequest >= connection.PortTimeout
                : now - connection.LastPacket >= RtspTrackerOptions.IdleConnection;
            if (lapsed)
            {
                Log.RtspTimedOut(_logger, connection.Key.Client, connection.Key.Server, connection.PortCount);
                Close(connection, changes);
            }
        }
    }

    private void Track(RtspConnectionKey key, uint syn, DateTimeOffset now)
    {
        int perClient = _perClient.GetValueOrDefault(key.Client);
        if (_connections.Count >= _options.MaxConnections || perClient >= _options.MaxConnectionsPerClient)
        {
            Log.RtspNotFollowed(_logger, key.Client, key.Server, "too many control connections");
            return;
        }

        _connections.Add(key, new RtspConnection(key, syn, now));
        _perClient[key.Client] = perClient + 1;
    }

    private void Feed(RtspConnection connection, RtspHalfStream half, bool fromClient, ReadOnlySpan<byte> data, DateTimeOffset now, List<MediaChange> changes)
    {
        while (!data.IsEmpty && !connection.Broken && half.Synced)
        {
            if (half.Skip > 0)
            {
                int skipped = (int)Math.Min(half.Skip, data.Length);
                data = data[skipped..];
                half.Skip -= skipped;
                continue;
            }

            int kept = half.PendingLength;
            ReadOnlySpan<byte> input = kept == 0 ? data : half.Peek(data[..Math.Min(data.Length, RtspMessageReader.MaxHeaderLength - kept)]);
            RtspReadResult read = RtspMessageReader.Read(input);
            switch (read.Status)
            {
                case RtspReadStatus.NeedMore:
                    if (kept == 0)
                    {
                        half.Peek(data);
                        half.Commit(data.Length);
                    }
                    else
                    {
                        half.Commit(input.Length - kept);
                    }

                    data = data[(input.Length - kept)..];
                    continue;
                case RtspReadStatus.Malformed:
                    connection.Broken = true;
                    connection.Release();
                    Log.RtspMalformed(_logger, connection.Key.Client, connection.Key.Server, fromClient ? "client" : "server", read.Error);
                    return;
            }

            // A header or an interleaved frame starts here; the octets of it beyond what is here are skipped as they come.
            int used = Math.Min(read.Length, input.Length);
            half.Release();
            data = data[(used - kept)..];
            half.Skip = read.Length - used;
            if (read.Message is { } message)
            {
                half.Skip += message.ContentLength;
                if (fromClient)
                {
                    OnRequest(connection, message, now, changes);
                }
                else
                {
                    OnResponse(connection, message, changes);
                }
            }
        }
    }

    private void OnRequest(RtspConnection connection, RtspMessage message, DateTimeOffset now, List<MediaChange> changes)
    {
        if (message.IsResponse)
        {
            return; // the client answering a request of the server's (GET_PARAMETER, say)
        }

        connection.LastRequest = now;
        switch (message.Method)
        {
            case "SETUP" when message.CSeq is int cseq && message.Transport is { } transport:
                OnSetup(connection, cseq, message, transport, changes);
                break;
            case "TEARDOWN":
                Teardown(connection, message.Session, message.Uri!, changes);
                break;
        }

        // Any request keeps the session alive: extend the ports once a quarter of their time has gone.
        if (connection.Streams.Count > 0 && now - connection.Refreshed >= connection.PortTimeout / 4)
        {
            connection.Refreshed = now;
            foreach (MediaOpening port in connection.Streams.SelectMany(s => s.Ports))
            {
                changes.Add(new MediaChange(MediaChangeKind.Refresh, port, connection.PortTimeout));
            }
        }
    }

    /// <summary>
    /// A SETUP request. The client's first UDP offer is opened at once, from that server only: a server streams
    /// right after PLAY, which can follow its answer within a millisecond or two, and media that arrives before its
    /// port is open makes a flow without the translation. The answer confirms the ports, or corrects them.
    /// </summary>
    private void OnSetup(RtspConnection connection, int cseq, RtspMessage message, string transport, List<MediaChange> changes)
    {
        var offered = new List<RtspTransportSpec>();
        RtspTransportError error = RtspTransportParser.TryParse(transport, offered);
        if (error != RtspTransportError.None)
        {
            Log.RtspRefused(_logger, connection.Key.Client, connection.Key.Server, $"SETUP Transport: {error}");
            return;
        }

        if (connection.PendingSetups.Count >= RtspTrackerOptions.MaxPendingSetups)
        {
            int oldest = connection.PendingSetups.Keys.Min();
            if (connection.PendingSetups.Remove(oldest, out RtspPendingSetup? dropped) && dropped.Opened is { } unanswered)
            {
                Remove(connection, unanswered, changes);
            }
        }

        string uri = message.Uri!;
        RtspTransportSpec? first = offered.FirstOrDefault(o => o.IsUnicastUdp && o.ClientPorts is not null);
        RtspStream? opened = null;
        if (connection.PendingSetups.Remove(cseq, out RtspPendingSetup? repeated) && repeated.Opened is { } earlier)
        {
            Remove(connection, earlier, changes); // the same CSeq twice: the later request counts
        }

        // A stream set up again keeps its ports until the answer says which it gets.
        bool again = connection.Streams.Any(s => s.Uri == uri && s.Session == message.Session);

        if (first is not null && !again && Refusal(connection, first.ClientPorts!.Value, first.Destination, null) is null)
        {
            opened = Open(connection, message.Session, uri, first.ClientPorts.Value, changes);
        }

        connection.PendingSetups[cseq] = new RtspPendingSetup(uri, offered, opened);
    }

    private void OnResponse(RtspConnection connection, RtspMessage message, List<MediaChange> changes)
    {
        if (!message.IsResponse || message.CSeq is not int cseq || !connection.PendingSetups.Remove(cseq, out RtspPendingSetup? setup))
        {
            return; // requests of the server's, and answers to anything but SETUP, open nothing
        }

        RtspStream? ahead = setup.Opened;
        RtspTransportSpec? chosen = null;
        string? refusal = !message.IsSuccess ? $"SETUP answered {message.StatusCode}"
            : message.Transport is null || RtspTransportParser.TryParse(message.Transport, _specs) != RtspTransportError.None || _specs.Count != 1
                ? "SETUP answer without one well-formed Transport"
                : null;
        if (refusal is null)
        {
            chosen = _specs[0];
            refusal = chosen.IsUnicastUdp ? null : "the answer's transport is not unicast UDP";
        }

        // The answer repeats the client ports; where it does not, the one UDP offer of the request says them.
        RtspTransportSpec[] udpOffers = [.. setup.Offered.Where(o => o.IsUnicastUdp)];
        RtspPortRange? ports = chosen?.ClientPorts ?? (udpOffers.Length == 1 ? udpOffers[0].ClientPorts : null);
        string? destination = chosen?.Destination ?? (udpOffers.Length == 1 ? udpOffers[0].Destination : null);
        if (refusal is null && ports is null)
        {
            refusal = "no client_port";
        }

        bool confirmed = refusal is null && ahead is not null && ahead.Ports[0].Port == ports!.Value.Low && ahead.Ports.Count == ports.Value.Count
            && (string.IsNullOrEmpty(destination) || IsClient(connection, destination));
        if (ahead is not null && !confirmed)
        {
            Remove(connection, ahead, changes); // refused, or other ports than offered
        }

        // The same stream set up again (in its session) replaces its ports.
        RtspStream? earlier = ahead is null ? connection.Streams.FirstOrDefault(s => s.Uri == setup.Uri && s.Session == message.Session) : null;
        refusal ??= confirmed ? null : Refusal(connection, ports!.Value, destination, earlier);
        if (refusal is not null)
        {
            if (message.IsSuccess)
            {
                Log.RtspRefused(_logger, connection.Key.Client, connection.Key.Server, refusal);
            }

            return;
        }

        TimeSpan before = connection.PortTimeout;
        if (message.SessionTimeout is int seconds)
        {
            TimeSpan timeout = TimeSpan.FromSeconds(seconds);
            connection.SessionTimeout = timeout < RtspTrackerOptions.MinSessionTimeout ? RtspTrackerOptions.MinSessionTimeout
                : timeout > RtspTrackerOptions.MaxSessionTimeout ? RtspTrackerOptions.MaxSessionTimeout : timeout;
        }

        RtspStream stream;
        if (confirmed)
        {
            // Now it is known which session the ports belong to (a first SETUP has none yet).
            stream = ahead! with { Session = message.Session };
            connection.Streams[connection.Streams.IndexOf(ahead!)] = stream;
            if (connection.PortTimeout != before)
            {
                changes.AddRange(stream.Ports.Select(p => new MediaChange(MediaChangeKind.Refresh, p, connection.PortTimeout)));
            }
        }
        else
        {
            if (earlier is not null)
            {
                Remove(connection, earlier, changes);
            }

            stream = Open(connection, message.Session, setup.Uri, ports!.Value, changes);
        }

        RtspConnectionKey key = connection.Key;
        Log.RtspOpened(_logger, key.Client, key.Server, stream.Ports[0].Port, stream.Ports[^1].Port, message.Session ?? "-", (int)connection.PortTimeout.TotalSeconds);
    }

    /// <summary>Why these ports may not be opened for the connection's client (null: they may), leaving out a stream they would replace.</summary>
    private string? Refusal(RtspConnection connection, RtspPortRange ports, string? destination, RtspStream? replaced)
    {
        RtspConnectionKey key = connection.Key;
        if (ports.Count > 2)
        {
            return $"client_port {ports.Low}-{ports.High} is more than an RTP/RTCP pair";
        }

        if (!string.IsNullOrEmpty(destination) && !IsClient(connection, destination))
        {
            return $"media for another host ({destination})";
        }

        for (int p = ports.Low; p <= ports.High; p++)
        {
            if (!_options.MayOpen(key.Client, (ushort)p))
            {
                return $"port {p} is not allowed by the policy";
            }

            if (_owners.TryGetValue(OwnerKey(new MediaOpening(key.Server, key.Client, (ushort)p)), out RtspConnection? owner)
                && !(owner == connection && replaced is not null && replaced.Ports.Any(o => o.Port == p)))
            {
                return owner == connection ? $"port {p} is already open on this connection" : $"port {p} from {key.Server} is already open for {owner.Key.Client}";
            }
        }

        return connection.PortCount - (replaced?.Ports.Count ?? 0) + ports.Count > _options.MaxPortsPerConnection
            ? $"more than {_options.MaxPortsPerConnection} media ports on one connection"
            : null;
    }

    private RtspStream Open(RtspConnection connection, string? session, string uri, RtspPortRange ports, List<MediaChange> changes)
    {
        RtspConnectionKey key = connection.Key;
        MediaOpening[] opened = [.. Enumerable.Range(ports.Low, ports.Count).Select(p => new MediaOpening(key.Server, key.Client, (ushort)p))];
        var stream = new RtspStream(session, uri, opened);
        connection.Streams.Add(stream);
        connection.Refreshed = connection.LastRequest;
        foreach (MediaOpening port in opened)
        {
            _owners[OwnerKey(port)] = connection;
            changes.Add(new MediaChange(MediaChangeKind.Open, port, connection.PortTimeout));
        }

        return stream;
    }

    private static bool IsClient(RtspConnection connection, string destination) =>
        IPAddress.TryParse(destination, out IPAddress? address) && address.Equals(connection.Key.Client);

    /// <summary>TEARDOWN of a stream's URI ends that stream; of anything else (the aggregate URI), the whole session (§10.7).</summary>
    private void Teardown(RtspConnection connection, string? session, string uri, List<MediaChange> changes)
    {
        RtspStream[] ofSession = [.. connection.Streams.Where(s => s.Session == session)];
        RtspStream[] ending = ofSession.Any(s => s.Uri == uri) ? [.. ofSession.Where(s => s.Uri == uri)] : ofSession;
        foreach (RtspStream stream in ending)
        {
            Remove(connection, stream, changes);
        }
    }

    private void Remove(RtspConnection connection, RtspStream stream, List<MediaChange> changes)
    {
        connection.Streams.Remove(stream);
        foreach (MediaOpening port in stream.Ports)
        {
            _owners.Remove(OwnerKey(port));
            changes.Add(new MediaChange(MediaChangeKind.Close, port, TimeSpan.Zero));
        }
    }

    private void Close(RtspConnection connection, List<MediaChange> changes)
    {
        foreach (RtspStream stream in connection.Streams.ToList())
        {
            Remove(connection, stream, changes);
        }

        connection.Release();
        _connections.Remove(connection.Key);
        IPAddress client = connection.Key.Client;
        if (_perClient.TryGetValue(client, out int count) && count > 1)
        {
            _perClient[client] = count - 1;
        }
        else
        {
            _perClient.Remove(client);
        }
    }

    private static MediaOpening OwnerKey(MediaOpening port) => port.IsIPv6 ? port : port with { Client = IPAddress.Any };
}
