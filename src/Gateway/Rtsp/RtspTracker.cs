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
        if (segment.Has(TcpFlags.Rst))
        {
            Close(connection, changes);
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
            connection.FromServer.Start(segment.Sequence);
            return;
        }

        RtspHalfStream half = fromClient ? connection.FromClient : connection.FromServer;
        if (half.Synced && !connection.Broken && !segment.Payload.IsEmpty)
        {
            Feed(connection, half, fromClient, half.New(segment.Sequence, segment.Payload), now, changes);
        }

        if (segment.Has(TcpFlags.Fin))
        {
            Close(connection, changes);
        }
    }

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
                    connection.PendingSetups.Remove(connection.PendingSetups.Keys.Min());
                }

                connection.PendingSetups[cseq] = (message.Uri!, offered);
                break;
            }

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

    private void OnResponse(RtspConnection connection, RtspMessage message, List<MediaChange> changes)
    {
        if (!message.IsResponse || message.CSeq is not int cseq || !connection.PendingSetups.Remove(cseq, out var setup) || !message.IsSuccess)
        {
            return; // requests of the server's, answers to anything but SETUP, and refusals open nothing
        }

        if (message.Transport is null || RtspTransportParser.TryParse(message.Transport, _specs) != RtspTransportError.None || _specs.Count != 1)
        {
            Log.RtspRefused(_logger, connection.Key.Client, connection.Key.Server, "SETUP answer without one well-formed Transport");
            return;
        }

        RtspTransportSpec chosen = _specs[0];
        if (!chosen.IsUnicastUdp)
        {
            return; // interleaved (the media rides the control connection), TCP or multicast: nothing to open
        }

        // The answer repeats the client ports; where it does not, the one UDP offer of the request says them.
        RtspTransportSpec[] udpOffers = [.. setup.Offered.Where(o => o.IsUnicastUdp)];
        RtspPortRange? ports = chosen.ClientPorts ?? (udpOffers.Length == 1 ? udpOffers[0].ClientPorts : null);
        string? destination = chosen.Destination ?? (udpOffers.Length == 1 ? udpOffers[0].Destination : null);
        RtspConnectionKey key = connection.Key;
        string? refusal = ports switch
        {
            null => "no client_port",
            { Count: > 2 } => $"client_port {ports.Value.Low}-{ports.Value.High} is more than an RTP/RTCP pair",
            _ when !string.IsNullOrEmpty(destination) && !(IPAddress.TryParse(destination, out IPAddress? d) && d.Equals(key.Client))
                => $"media for another host ({destination})",
            _ => null,
        };
        if (refusal is null)
        {
            for (int p = ports!.Value.Low; p <= ports.Value.High && refusal is null; p++)
            {
                refusal = !_options.MayOpen(key.Client, (ushort)p) ? $"port {p} is not allowed by the policy"
                    : _owners.TryGetValue(OwnerKey(new MediaOpening(key.Server, key.Client, (ushort)p)), out RtspConnection? owner) && owner != connection
                        ? $"port {p} from {key.Server} is already open for {owner.Key.Client}"
                        : null;
            }
        }

        // The same stream set up again replaces its ports.
        RtspStream? earlier = connection.Streams.FirstOrDefault(s => s.Uri == setup.Uri && s.Session == message.Session);
        if (refusal is null && connection.PortCount - (earlier?.Ports.Count ?? 0) + ports!.Value.Count > _options.MaxPortsPerConnection)
        {
            refusal = $"more than {_options.MaxPortsPerConnection} media ports on one connection";
        }

        if (refusal is not null)
        {
            Log.RtspRefused(_logger, key.Client, key.Server, refusal);
            return;
        }

        if (earlier is not null)
        {
            Remove(connection, earlier, changes);
        }

        if (message.SessionTimeout is int seconds)
        {
            TimeSpan timeout = TimeSpan.FromSeconds(seconds);
            connection.SessionTimeout = timeout < RtspTrackerOptions.MinSessionTimeout ? RtspTrackerOptions.MinSessionTimeout
                : timeout > RtspTrackerOptions.MaxSessionTimeout ? RtspTrackerOptions.MaxSessionTimeout : timeout;
        }

        MediaOpening[] opened = [.. Enumerable.Range(ports!.Value.Low, ports.Value.Count).Select(p => new MediaOpening(key.Server, key.Client, (ushort)p))];
        connection.Streams.Add(new RtspStream(message.Session, setup.Uri, opened));
        connection.Refreshed = connection.LastRequest;
        foreach (MediaOpening port in opened)
        {
            _owners[OwnerKey(port)] = connection;
            changes.Add(new MediaChange(MediaChangeKind.Open, port, connection.PortTimeout));
        }

        Log.RtspOpened(_logger, key.Client, key.Server, ports.Value.Low, ports.Value.High, message.Session ?? "-", (int)connection.PortTimeout.TotalSeconds);
    }

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
