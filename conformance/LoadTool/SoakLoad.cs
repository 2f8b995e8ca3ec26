using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using PortMapper.Conformance.PcpClient;

namespace PortMapper.Conformance.LoadTool;

/// <summary>
/// The soak's LAN side: every client (a device of its own) maps, renews and deletes ports over NAT-PMP, PCP and UPnP,
/// subscribes to GENA events, and some run RTSP sessions, for as long as the soak lasts; a ledger keeps every lease
/// whose grant was acknowledged. Every <see cref="AuditInterval"/> (and once at the end) the ledger is checked
/// against the gateway's lease table (its admin API): an acknowledged lease that has not expired, and that no
/// request of ours was changing at the time, must be there. A lease whose delete or renewal went unanswered is
/// uncertain from then on and is not counted either way.
/// </summary>
internal sealed class SoakLoad : IDisposable
{
    public static readonly TimeSpan AuditInterval = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_expiryMargin = TimeSpan.FromSeconds(5);
    private const int TargetLeasesPerClient = 16;
    private const int MaxLeasesPerClient = 24;
    private const string Service = "urn:schemas-upnp-org:service:WANIPConnection:1";

    private readonly IPAddress _gateway;
    private readonly IReadOnlyList<IPAddress> _clients;
    private readonly string _tokenFile;
    private readonly IPEndPoint? _rtspServer;
    private readonly Dictionary<(string Protocol, ushort External), Entry> _ledger = [];
    private readonly Lock _lock = new();
    private readonly HttpClient _admin = new() { Timeout = TimeSpan.FromSeconds(5) };
    private long _requests, _answered, _refused, _unanswered, _acked, _renewed, _deleted, _lost, _audits, _skippedAudits;
    private long _gena, _rtspOk, _rtspFailed;

    public SoakLoad(IPAddress gateway, IReadOnlyList<IPAddress> clients, string tokenFile, IPEndPoint? rtspServer)
    {
        _gateway = gateway;
        _clients = clients;
        _tokenFile = tokenFile;
        _rtspServer = rtspServer;
    }

    public long Lost => Interlocked.Read(ref _lost);

    public async Task RunAsync(TimeSpan duration)
    {
        using var stop = new CancellationTokenSource(duration);
        var tasks = new List<Task>();
        for (int i = 0; i < _clients.Count; i++)
        {
            tasks.Add(ClientLoopAsync(i, stop.Token));
        }

        tasks.Add(AuditLoopAsync(stop.Token));
        if (_rtspServer is not null)
        {
            tasks.Add(RtspLoopAsync(stop.Token));
        }

        await Task.WhenAll(tasks);
    }

    /// <summary>The last audit, once the gateway answers again (up to <paramref name="wait"/>); false if it never did.</summary>
    public async Task<bool> FinalAuditAsync(TimeSpan wait)
    {
        var deadline = DateTimeOffset.UtcNow + wait;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await AuditAsync(final: true))
            {
                return true;
            }

            await Task.Delay(1000);
        }

        return false;
    }

    public void WriteLedger(string path)
    {
        lock (_lock)
        {
            File.WriteAllLines(path, _ledger.Values.Select(e => string.Create(CultureInfo.InvariantCulture,
                $"{e.Protocol} {e.External} {e.Internal} {e.InternalPort} {e.Expires.ToUnixTimeSeconds()} {(e.Uncertain ? "uncertain" : "acked")}")));
        }
    }

    public override string ToString()
    {
        lock (_lock)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"requests={_requests} answered={_answered} refused={_refused} unanswered={_unanswered} acked={_acked} renewed={_renewed} deleted={_deleted} "
                + $"held={_ledger.Count} uncertain={_ledger.Values.Count(e => e.Uncertain)} audits={_audits} audits-skipped={_skippedAudits} lost={_lost} "
                + $"gena={_gena} rtsp-ok={_rtspOk} rtsp-failed={_rtspFailed}");
        }
    }

    public long Acked => Interlocked.Read(ref _acked);

    public void Dispose() => _admin.Dispose();

    private async Task ClientLoopAsync(int index, CancellationToken stop)
    {
        var random = new Random(index * 7919);
        IPAddress address = _clients[index];
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(address, 0));
        var mine = new List<Entry>();
        string? subscription = null;
        ushort nextPort = (ushort)(10000 + (index * 200));
        try
        {
            await Task.Delay(random.Next(0, 3000), stop);
            while (!stop.IsCancellationRequested)
            {
                // Leases that ran out are gone from the gateway as from the ledger (a renewal would be a new lease).
                DateTimeOffset now = DateTimeOffset.UtcNow;
                lock (_lock)
                {
                    foreach (Entry e in mine.Where(e => !e.Gone && e.Expires < now))
                    {
                        e.Gone = true;
                        if (_ledger.TryGetValue(e.Key, out Entry? held) && held == e)
                        {
                            _ledger.Remove(e.Key);
                        }
                    }
                }

                mine.RemoveAll(e => e.Gone);
                // Each client keeps about TargetLeasesPerClient leases (reached within the first minute, so that the
                // soak's level after the first minute is the steady state): below it, it maps; at it, it renews,
                // deletes, maps some more (up to the cap) and subscribes.
                int roll = mine.Count < TargetLeasesPerClient ? 0 : random.Next(15, 100);
                string origin = (random.Next(3)) switch { 0 => "natpmp", 1 => "pcp", _ => "upnp" };
                if (roll < 30 && mine.Count < MaxLeasesPerClient)
                {
                    ushort internalPort = nextPort++;
                    if (nextPort >= 10000 + ((index + 1) * 200))
                    {
                        nextPort = (ushort)(10000 + (index * 200));
                    }

                    if (mine.Any(e => e.InternalPort == internalPort))
                    {
                        continue;
                    }

                    var entry = new Entry(origin, random.Next(2) == 0 ? "tcp" : "udp", address, internalPort, PcpMessage.NewNonce());
                    if (await MapAsync(socket, entry, (uint)random.Next(120, 900), (ushort)random.Next(20000, 60000)))
                    {
                        mine.Add(entry);
                    }
                }
                else if (roll < 65 && mine.Count > 0)
                {
                    await RenewAsync(socket, mine[random.Next(mine.Count)], (uint)random.Next(120, 900));
                }
                else if (roll < 90 && mine.Count > 0)
                {
                    Entry entry = mine[random.Next(mine.Count)];
                    await DeleteAsync(socket, entry);
                }
                else
                {
                    subscription = await GenaAsync(address, subscription);
                }

                await Task.Delay(random.Next(500, 3500), stop);
            }
        }
        catch (OperationCanceledException)
        {
        }

        // A control point that goes away unsubscribes: otherwise its subscription (300 s) keeps the gateway sending
        // it a NOTIFY for every change (the leases the load leaves keep expiring) after the load is over, and the
        // soak's level at the end would be that of 150 subscribers notified every second, not of the load gone.
        if (subscription is not null)
        {
            await GenaAsync(address, subscription);
        }
    }

    private async Task<bool> MapAsync(Socket socket, Entry entry, uint lifetime, ushort upnpPort)
    {
        DateTimeOffset sent = DateTimeOffset.UtcNow;
        (bool Answered, bool Granted, ushort External, uint Lifetime) r = entry.Origin switch
        {
            "natpmp" => await NatPmpAsync(socket, entry, lifetime, 0),
            "pcp" => await PcpAsync(socket, entry, lifetime, 0),
            _ => await UpnpAddAsync(entry, upnpPort, lifetime),
        };
        Count(r.Answered, r.Granted);
        if (!r.Granted)
        {
            return false;
        }

        lock (_lock)
        {
            entry.External = r.External;
            entry.Expires = sent + TimeSpan.FromSeconds(r.Lifetime);
            entry.AckedAt = DateTimeOffset.UtcNow;
            if (_ledger.TryGetValue(entry.Key, out Entry? old) && old != entry && old.Expires > sent && !old.Uncertain
                && !(entry.Origin == "upnp" && old.Internal.Equals(entry.Internal)))
            {
                // The gateway handed out a port the ledger holds for another lease: one of the two is not there.
                Console.Error.WriteLine($"soak: {entry.Key} granted to {entry.Internal}:{entry.InternalPort} but held by {old.Internal}:{old.InternalPort}");
                old.Uncertain = true;
                old.Gone = true;
            }

            // An AddPortMapping for an external port the same client holds replaces that mapping (UPnP IGD: the
            // client's own entry is overwritten, another client's is a conflict).
            if (_ledger.TryGetValue(entry.Key, out Entry? replaced) && replaced != entry)
            {
                replaced.Gone = true;
            }

            _ledger[entry.Key] = entry;
            _acked++;
        }

        return true;
    }

    private async Task RenewAsync(Socket socket, Entry entry, uint lifetime)
    {
        DateTimeOffset sent = DateTimeOffset.UtcNow;
        entry.Busy = true;
        try
        {
            (bool Answered, bool Granted, ushort External, uint Lifetime) r = entry.Origin switch
            {
                "natpmp" => await NatPmpAsync(socket, entry, lifetime, entry.External),
                "pcp" => await PcpAsync(socket, entry, lifetime, entry.External),
                _ => await UpnpAddAsync(entry, entry.External, lifetime),
            };
            Count(r.Answered, r.Granted);
            lock (_lock)
            {
                if (!r.Answered)
                {
                    // The request may still reach the gateway (a link that was down, a daemon busy rebuilding) and be
                    // applied with its lifetime: what the gateway holds is not known from here on.
                    entry.Uncertain = true;
                }
                else if (r.Granted && r.External == entry.External)
                {
                    entry.Expires = sent + TimeSpan.FromSeconds(r.Lifetime);
                    _renewed++;
                }
                else if (r.Granted && entry.Expires <= sent)
                {
                    // It had run out before the renewal was sent: the answer is a new lease, on whatever port.
                    _ledger.Remove(entry.Key);
                    entry.External = r.External;
                    entry.Expires = sent + TimeSpan.FromSeconds(r.Lifetime);
                    entry.AckedAt = DateTimeOffset.UtcNow;
                    _ledger[entry.Key] = entry;
                }
                else if (r.Granted)
                {
                    // A renewal answered with another port: the lease it renewed was not there any more. Unless an
                    // earlier request of this lease went unanswered: then this answer may be that request's (NAT-PMP
                    // has no nonce), taken as the lease's state and never counted.
                    if (!entry.Uncertain)
                    {
                        Console.Error.WriteLine($"soak: renewal of {entry.Key} answered with port {r.External}");
                        _lost++;
                    }

                    _ledger.Remove(entry.Key);
                    entry.External = r.External;
                    entry.Expires = sent + TimeSpan.FromSeconds(r.Lifetime);
                    _ledger[entry.Key] = entry;
                }
            }
        }
        finally
        {
            entry.Busy = false;
        }
    }

    private async Task DeleteAsync(Socket socket, Entry entry)
    {
        entry.Busy = true;
        (bool Answered, bool Granted, ushort, uint) r = entry.Origin switch
        {
            "natpmp" => await NatPmpAsync(socket, entry, 0, 0),
            "pcp" => await PcpAsync(socket, entry, 0, 0),
            _ => await UpnpDeleteAsync(entry),
        };
        Count(r.Answered, r.Granted);
        lock (_lock)
        {
            if (r.Granted)
            {
                _ledger.Remove(entry.Key);
                entry.Gone = true;
                _deleted++;
            }
            else if (!r.Answered)
            {
                entry.Uncertain = true; // it may be gone or not: neither counted from now on
            }
        }

        entry.Busy = false;
    }

    private void Count(bool answered, bool granted)
    {
        lock (_lock)
        {
            _requests++;
            _answered += answered ? 1 : 0;
            _unanswered += answered ? 0 : 1;
            _refused += answered && !granted ? 1 : 0;
        }
    }

    /// <summary>NAT-PMP (RFC 6886 §3.3), written by hand: map (or renew, or delete with lifetime 0).</summary>
    private async Task<(bool, bool, ushort, uint)> NatPmpAsync(Socket socket, Entry entry, uint lifetime, ushort suggested)
    {
        byte[] request = new byte[12];
        request[1] = entry.Protocol == "udp" ? (byte)1 : (byte)2;
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), entry.InternalPort);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), suggested);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(8), lifetime);
        byte[]? reply = await ExchangeAsync(socket, request, r => r.Length == 16 && r[1] == request[1] + 128
            && BinaryPrimitives.ReadUInt16BigEndian(r.AsSpan(8)) == entry.InternalPort);
        if (reply is null)
        {
            return (false, false, 0, 0);
        }

        bool ok = BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2)) == 0;
        return (true, ok, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(10)), BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(12)));
    }

    private async Task<(bool, bool, ushort, uint)> PcpAsync(Socket socket, Entry entry, uint lifetime, ushort suggested)
    {
        byte protocol = entry.Protocol == "udp" ? PcpMessage.Udp : PcpMessage.Tcp;
        byte[] request = PcpMessage.Map(entry.Internal, protocol, entry.InternalPort, suggested, lifetime, entry.Nonce);
        byte[]? reply = await ExchangeAsync(socket, request, r => PcpMessage.Parse(r) is { } a && a.Nonce.AsSpan().SequenceEqual(entry.Nonce) && a.InternalPort == entry.InternalPort);
        if (reply is null || PcpMessage.Parse(reply) is not { } answer)
        {
            return (false, false, 0, 0);
        }

        return (true, answer.Result == PcpAnswer.Success, answer.ExternalPort, answer.Lifetime);
    }

    private async Task<byte[]?> ExchangeAsync(Socket socket, byte[] request, Func<byte[], bool> matches)
    {
        var server = new IPEndPoint(_gateway, 5351);
        byte[] buffer = new byte[1100];
        using var cts = new CancellationTokenSource(s_timeout);
        try
        {
            // Late answers to requests that timed out are dropped first: NAT-PMP answers carry no nonce, and the
            // late answer to a delete would otherwise be read as this request's.
            while (socket.Available > 0)
            {
                socket.Receive(buffer);
            }

            await socket.SendToAsync(request, SocketFlags.None, server);
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                byte[] reply = buffer[..n];
                if (matches(reply))
                {
                    return reply;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return null;
        }
    }

    private async Task<(bool, bool, ushort, uint)> UpnpAddAsync(Entry entry, ushort external, uint lifetime)
    {
        string args = string.Create(CultureInfo.InvariantCulture,
            $"<NewRemoteHost></NewRemoteHost><NewExternalPort>{external}</NewExternalPort><NewProtocol>{entry.Protocol.ToUpperInvariant()}</NewProtocol>"
            + $"<NewInternalPort>{entry.InternalPort}</NewInternalPort><NewInternalClient>{entry.Internal}</NewInternalClient><NewEnabled>1</NewEnabled>"
            + $"<NewPortMappingDescription>soak</NewPortMappingDescription><NewLeaseDuration>{lifetime}</NewLeaseDuration>");
        int? status = await SoapAsync(entry.Internal, "AddPortMapping", args);
        return (status is not null, status == 200, external, lifetime);
    }

    private async Task<(bool, bool, ushort, uint)> UpnpDeleteAsync(Entry entry)
    {
        string args = string.Create(CultureInfo.InvariantCulture,
            $"<NewRemoteHost></NewRemoteHost><NewExternalPort>{entry.External}</NewExternalPort><NewProtocol>{entry.Protocol.ToUpperInvariant()}</NewProtocol>");
        int? status = await SoapAsync(entry.Internal, "DeletePortMapping", args);
        return (status is not null, status == 200, 0, 0);
    }

    /// <summary>One SOAP action on a connection of its own, as miniupnpc does; the HTTP status, or null without an answer.</summary>
    private async Task<int?> SoapAsync(IPAddress client, string action, string arguments)
    {
        string body = "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
            + $"<s:Body><u:{action} xmlns:u=\"{Service}\">{arguments}</u:{action}></s:Body></s:Envelope>";
        byte[] content = Encoding.UTF8.GetBytes(body);
        string head = $"POST /ctl/IPConn1 HTTP/1.1\r\nHost: {_gateway}:5000\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
            + $"SOAPAction: \"{Service}#{action}\"\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n";
        string? response = await HttpAsync(client, 5000, [.. Encoding.ASCII.GetBytes(head), .. content]);
        return response is not null && response.Length >= 12 && int.TryParse(response.AsSpan(9, 3), CultureInfo.InvariantCulture, out int status) ? status : null;
    }

    /// <summary>GENA: subscribe (callback to the client itself), or unsubscribe the subscription held.</summary>
    private async Task<string?> GenaAsync(IPAddress client, string? sid)
    {
        string head = sid is null
            ? $"SUBSCRIBE /evt/IPConn1 HTTP/1.1\r\nHost: {_gateway}:5000\r\nCALLBACK: <http://{client}:49152/event>\r\nNT: upnp:event\r\nTIMEOUT: Second-300\r\nConnection: close\r\n\r\n"
            : $"UNSUBSCRIBE /evt/IPConn1 HTTP/1.1\r\nHost: {_gateway}:5000\r\nSID: {sid}\r\nConnection: close\r\n\r\n";
        string? response = await HttpAsync(client, 5000, Encoding.ASCII.GetBytes(head));
        Interlocked.Increment(ref _gena);
        if (sid is not null || response is null)
        {
            return null;
        }

        int at = response.IndexOf("\r\nSID: ", StringComparison.OrdinalIgnoreCase);
        return at < 0 ? null : response[(at + 7)..response.IndexOf('\r', at + 7)];
    }

    private static async Task<string?> HttpAsync(IPAddress from, int port, byte[] request)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(from, 0));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse("192.168.77.1"), port), cts.Token);
            await socket.SendAsync(request, SocketFlags.None, cts.Token);
            var received = new MemoryStream();
            byte[] buffer = new byte[4096];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received.Write(buffer, 0, n);
            }

            return Encoding.ASCII.GetString(received.ToArray());
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return null;
        }
    }

    private async Task RtspLoopAsync(CancellationToken stop)
    {
        using var rtsp = new RtspLoad(_rtspServer!, _clients);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var (_, latencies) = await rtsp.MeasureAsync(2, 2);
                Interlocked.Add(ref _rtspOk, latencies.Count);
                Interlocked.Add(ref _rtspFailed, 2 - latencies.Count);
                await Task.Delay(3000, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task AuditLoopAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(AuditInterval, stop);
                await AuditAsync(final: false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>One audit; false when the gateway's table could not be read (the daemon is restarting, say).</summary>
    private async Task<bool> AuditAsync(bool final)
    {
        DateTimeOffset started = DateTimeOffset.UtcNow;
        HashSet<(string, ushort, string, ushort)> table;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{_gateway}:8470/api/leases");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(_tokenFile)).Trim());
            using HttpResponseMessage response = await _admin.SendAsync(request);
            response.EnsureSuccessStatusCode();
            using JsonDocument leases = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            table = [.. leases.RootElement.EnumerateArray()
                .Where(l => !l.GetProperty("pinhole").GetBoolean())
                .Select(l => (l.GetProperty("protocol").GetString()!.ToLowerInvariant(), (ushort)l.GetProperty("externalPort").GetInt32(),
                    l.GetProperty("internalAddress").GetString()!, (ushort)l.GetProperty("internalPort").GetInt32()))];
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException or JsonException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _skippedAudits);
            return false;
        }

        lock (_lock)
        {
            _audits++;
            foreach (Entry e in _ledger.Values)
            {
                if (e.Busy || e.Uncertain || e.Gone || e.AckedAt >= started || e.Expires <= started + s_expiryMargin)
                {
                    continue;
                }

                if (!table.Contains((e.Protocol, e.External, e.Internal.ToString(), e.InternalPort)))
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"soak: {(final ? "final " : string.Empty)}audit at {started:HH:mm:ss}: acknowledged {e.Origin} lease {e.Protocol} {e.External} -> {e.Internal}:{e.InternalPort} (expires {e.Expires:HH:mm:ss}) is not in the table"));
                    _lost++;
                    e.Uncertain = true; // counted once
                }
            }
        }

        return true;
    }

    private sealed class Entry(string origin, string protocol, IPAddress internalAddress, ushort internalPort, byte[] nonce)
    {
        public string Origin { get; } = origin;

        public string Protocol { get; } = protocol;

        public IPAddress Internal { get; } = internalAddress;

        public ushort InternalPort { get; } = internalPort;

        public byte[] Nonce { get; } = nonce;

        public ushort External { get; set; }

        public DateTimeOffset Expires { get; set; }

        public DateTimeOffset AckedAt { get; set; }

        public bool Busy { get; set; }

        public bool Uncertain { get; set; }

        public bool Gone { get; set; }

        public (string, ushort) Key => (Protocol, External);
    }
}
