using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Status;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Upstream;

/// <summary>
/// Double NAT and carrier-grade NAT: finds the port-mapping server upstream of the WAN (PCP, then NAT-PMP, at
/// the WAN's default gateway or <c>upstream.server</c>) while the WAN address is not a global one, and carries
/// every IPv4 lease through to it: a matching upstream mapping of the WAN address and the lease's external port,
/// asked for before the LAN client is answered, renewed at half its lifetime while the lease lives, deleted when
/// it goes. Clients are told the upstream's public address and port. An upstream that restarts (its epoch goes
/// back, or it announces) gets every mapping again, and LAN clients hear of it through a new epoch.
/// </summary>
public sealed partial class UpstreamService : BackgroundService
{
    /// <summary>The longest upstream lifetime asked for (and the one for permanent leases); renewed at half of it.</summary>
    internal const uint MaxUpstreamLifetime = 7200;

    /// <summary>The shortest wait before a renewal, however short the upstream's lifetime (a hostile one cannot make it spin).</summary>
    private const uint MinRenewalSeconds = 5;

    private const int MaxInFlight = 64;

    /// <summary>Restarts of the upstream are acted on at most this often (announcements can be spoofed on the WAN link).</summary>
    private static readonly TimeSpan s_restartInterval = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan s_probeDeadline = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_renewDeadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_retryAfterFailure = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_check = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan[] s_searchBackoff = [TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5)];

    private readonly GatewayOptions _options;
    private readonly GatewayState _state;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, UpstreamEntry> _entries = [];
    private readonly PriorityQueue<UpstreamEntry, DateTimeOffset> _renewals = new();
    private readonly Dictionary<(MappingProtocol Protocol, ushort Port), Task> _deleting = [];
    private readonly Lazy<byte[]> _nonceKey; // made on first use: a gateway with no upstream keeps no key

    /// <summary>Upstream requests in flight at once: carrying a full table after a restart goes out in waves, not at once.</summary>
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight);
    private MappingEngine? _engine;
    private UpstreamTransport? _transport;
    private UpstreamClient? _client;
    private AnnouncementListener? _listener;
    private TaskCompletionSource _wake = NewWake();
    private volatile bool _searchWanted = true;
    private DateTimeOffset _nextSearch = DateTimeOffset.MaxValue;
    private DateTimeOffset _nextCheck = DateTimeOffset.MaxValue;
    private int _searchFailures;
    private int _checkFailures;
    private (uint Epoch, DateTimeOffset At)? _lastEpoch;
    private CancellationToken _stopping;

    public UpstreamService(GatewayOptions options, GatewayState state, TimeProvider time, ILogger<UpstreamService> logger, GatewayMetrics? metrics = null)
    {
        _options = options;
        _state = state;
        _time = time;
        _logger = logger;
        _metrics = metrics ?? new GatewayMetrics();
        _nonceKey = new Lazy<byte[]>(() => LoadNonceKey(options.Settings.StateDirectory));
    }

    /// <summary>Whether leases are carried upstream now.</summary>
    public bool Active => _client is not null;

    private GatewaySettings Settings => _engine?.Options.Settings ?? _options.Settings;

    /// <summary>Called by the engine it serves (each needs the other).</summary>
    internal void Attach(MappingEngine engine) => _engine = engine;

    /// <summary>The WAN address changed: the upstream is looked for again from that address.</summary>
    internal void WanChanged()
    {
        _searchWanted = true;
        _wake.TrySetResult();
    }

    /// <summary>
    /// The engine's changes of one batch (on the engine's thread, before it answers): each added or renewed lease
    /// that is carried gets its upstream mapping asked for or renewed; each removed one, deleted.
    /// </summary>
    internal void Observe(IReadOnlyList<LeaseChange> changes)
    {
        if (_client is null || changes.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            foreach (LeaseChange change in changes)
            {
                Lease lease = change.Lease;
                if (!Carries(lease))
                {
                    continue;
                }

                if (change.Kind is LeaseChangeKind.Added or LeaseChangeKind.Renewed)
                {
                    UpstreamEntry entry = EntryFor(lease);
                    entry.LocalExpires = lease.Expires;
                    entry.Description = lease.Description;
                    Ensure(entry, TimeSpan.FromMilliseconds(Settings.UpstreamTimeoutMilliseconds));
                }
                else if (_entries.Remove(lease.Id, out UpstreamEntry? gone))
                {
                    gone.Removed = true;
                    if (gone.Running is null || gone.Running.IsCompleted)
                    {
                        StartDelete(gone);
                    }
                }
            }
        }

        PublishMetrics();
    }

    /// <summary>
    /// Answers a LAN request once the upstream has answered for its lease: with the upstream's port and a lifetime
    /// no longer than the upstream's; or, when the upstream refused or was silent and <c>upstream.required</c> holds,
    /// with the refusal (a lease the request added is revoked). A lease that is not carried is answered at once.
    /// <paramref name="exactPort"/>: the client asked for its port or nothing (PCP PREFER_FAILURE, RFC 6887 §13.2), so
    /// an upstream that assigns another is a refusal (RFC 7648: the proxy keeps the client's semantics).
    /// </summary>
    internal void Reply(long leaseId, bool added, bool exactPort, MappingOutcome outcome, Action<MappingOutcome> reply)
    {
        Task<UpstreamReply>? running;
        UpstreamEntry? entry;
        lock (_lock)
        {
            running = _entries.TryGetValue(leaseId, out entry) ? entry.Running : null;
        }

        if (running is null || entry is null)
        {
            reply(outcome);
            return;
        }

        _ = running.ContinueWith(t => Complete(entry, added, exactPort, outcome, reply, t.Result), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>How each lease stands upstream, for the admin API: "mapped 198.51.100.1:40000", "pending", "local only: ...".</summary>
    public string? StateOf(long leaseId)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(leaseId, out UpstreamEntry? entry) ? entry.Describe(_state.Current.PublicAddress) : null;
        }
    }

    private void Complete(UpstreamEntry entry, bool added, bool exactPort, MappingOutcome outcome, Action<MappingOutcome> reply, UpstreamReply answer)
    {
        if (answer.Success && (exactPort || entry.Origin == MappingOrigin.Upnp) && answer.ExternalPort != entry.Port)
        {
            // IGD names a mapping by its external port: one the Internet sees under another port cannot be managed;
            // a PCP client with PREFER_FAILURE wants its port or nothing.
            answer = answer with { Status = MappingStatus.CannotProvideExternal, Detail = $"upstream assigned port {answer.ExternalPort}" };
            entry.Failure = answer.Detail;
            Fail(entry, added, outcome, reply, answer, force: true);
            return;
        }

        if (answer.Success)
        {
            reply(outcome with { ExternalPort = answer.ExternalPort, LifetimeSeconds = Math.Min(outcome.LifetimeSeconds, answer.LifetimeSeconds) });
            return;
        }

        Fail(entry, added, outcome, reply, answer, force: false);
    }

    private void Fail(UpstreamEntry entry, bool added, MappingOutcome outcome, Action<MappingOutcome> reply, UpstreamReply answer, bool force)
    {
        if (!force && !Settings.UpstreamRequired)
        {
            entry.LocalOnly = true;
            Log.UpstreamLocalOnly(_logger, entry.LeaseId, entry.Protocol, entry.Port, answer.Detail);
            reply(outcome);
            return;
        }

        Log.UpstreamRefused(_logger, entry.LeaseId, entry.Protocol, entry.Port, answer.Detail);
        MappingStatus status = answer.Answered && answer.Status != MappingStatus.Granted ? answer.Status : MappingStatus.UpstreamFailed;
        reply(MappingOutcome.Denied(status));
        if (added)
        {
            _ = _engine?.RevokeAsync(entry.LeaseId);
        }
    }

    /// <summary>IPv4 port mappings: pinholes are not translated, and PEER mappings are outbound.</summary>
    private bool Carries(Lease lease) =>
        _client is not null && !lease.IsPinhole && lease.RemotePeer is null && lease.InternalAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;

    /// <summary>Caller holds the lock.</summary>
    private UpstreamEntry EntryFor(Lease lease)
    {
        if (!_entries.TryGetValue(lease.Id, out UpstreamEntry? entry))
        {
            entry = new UpstreamEntry(lease.Id, lease.Protocol, lease.ExternalPort, NonceFor(lease), lease.Origin)
            {
                LocalExpires = lease.Expires,
                Description = lease.Description,
            };
            _entries.Add(lease.Id, entry);
        }

        return entry;
    }

    /// <summary>
    /// Starts the upstream request an entry needs, or joins the one running (which then runs once more). An entry
    /// whose upstream mapping already outlives the local lease needs none: its answer is what the upstream last said.
    /// Caller holds the lock.
    /// </summary>
    private void Ensure(UpstreamEntry entry, TimeSpan deadline)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (entry.Running is { IsCompleted: false })
        {
            entry.Again = true;
            return;
        }

        if (entry.Mapped && entry.LocalExpires is { } until && until <= entry.UpstreamExpires && entry.Generation == _generation)
        {
            entry.Running = Task.FromResult(entry.Last with { LifetimeSeconds = Seconds(entry.UpstreamExpires - now) });
            return;
        }

        entry.Running = RunAsync(entry, deadline);
    }

    private async Task<UpstreamReply> RunAsync(UpstreamEntry entry, TimeSpan deadline)
    {
        await Task.Yield();
        if (entry.Removed)
        {
            return UpstreamReply.NoAnswer("the lease is gone");
        }

        UpstreamReply answer;
        do
        {
            entry.Again = false;
            UpstreamClient? client = _client;
            if (client is null)
            {
                return UpstreamReply.NoAnswer("no upstream server");
            }

            int generation = _generation;
            Task? deleting;
            lock (_lock)
            {
                deleting = _deleting.GetValueOrDefault((entry.Protocol, entry.Port));
            }

            if (deleting is not null)
            {
                await deleting.ConfigureAwait(false); // the previous lease's mapping of this port goes first
            }

            if (await _inFlight.WaitAsync(deadline, _stopping).ConfigureAwait(false))
            {
                try
                {
                    uint lifetime = LifetimeFor(entry, _time.GetUtcNow());
                    answer = await client.MapAsync(entry.Key, lifetime, entry.Description, deadline, _stopping).ConfigureAwait(false);
                }
                finally
                {
                    _inFlight.Release();
                }
            }
            else
            {
                answer = UpstreamReply.NoAnswer("too many upstream requests waiting"); // tried again like any failure
            }

            _metrics.Request("upstream", answer.Detail);
            Apply(entry, answer, generation, _time.GetUtcNow());
        }
        while (entry.Again && !entry.Removed);

        if (entry.Removed && entry.Mapped)
        {
            lock (_lock)
            {
                StartDelete(entry);
            }
        }

        return answer;
    }

    /// <summary>The lifetime asked of the upstream: the local lease's remaining time, at most <see cref="MaxUpstreamLifetime"/>.</summary>
    private static uint LifetimeFor(UpstreamEntry entry, DateTimeOffset now) =>
        entry.LocalExpires is { } until ? Math.Clamp(Seconds(until - now), 1, MaxUpstreamLifetime) : MaxUpstreamLifetime;

    private static uint Seconds(TimeSpan span) => (uint)Math.Clamp(Math.Ceiling(span.TotalSeconds), 0, uint.MaxValue);

    private void Apply(UpstreamEntry entry, UpstreamReply answer, int generation, DateTimeOffset now)
    {
        if (answer.Answered && _client is { HasEpoch: true })
        {
            NoteEpoch(answer.EpochSeconds, now);
        }

        lock (_lock)
        {
            entry.Last = answer;
            if (answer.Success)
            {
                entry.Mapped = true;
                entry.Generation = generation;
                entry.Failure = null;
                entry.LocalOnly = false;
                entry.ExternalPort = answer.ExternalPort;
                entry.UpstreamExpires = now + TimeSpan.FromSeconds(answer.LifetimeSeconds);
                entry.RenewAt = now + TimeSpan.FromSeconds(Math.Max(answer.LifetimeSeconds / 2, MinRenewalSeconds));
            }
            else
            {
                entry.Failure = answer.Detail;
                if (entry.UpstreamExpires <= now)
                {
                    entry.Mapped = false;
                }

                entry.RenewAt = now + s_retryAfterFailure;
            }

            if (!entry.Removed && NeedsRenewal(entry))
            {
                _renewals.Enqueue(entry, entry.RenewAt);
                _wake.TrySetResult();
            }
        }

        if (answer.Success && answer.PublicAddress is { } address && !address.Equals(_state.Current.PublicAddress))
        {
            _ = PublishAsync(_state.Current.Upstream, address, restart: _state.Current.PublicAddress is not null);
        }

        PublishMetrics();
    }

    /// <summary>Whether the upstream mapping ends before the local lease does (so it must be renewed). Caller holds the lock.</summary>
    private static bool NeedsRenewal(UpstreamEntry entry) => entry.LocalExpires is not { } until || until > entry.UpstreamExpires;

    /// <summary>
    /// Starts deleting an entry's upstream mapping and keeps the task by its port, so that a new lease of the same
    /// protocol and port asks only once the old mapping is gone (else the upstream sees the port taken, by another
    /// nonce, and gives another). Caller holds the lock.
    /// </summary>
    private void StartDelete(UpstreamEntry entry)
    {
        (MappingProtocol, ushort) port = (entry.Protocol, entry.Port);
        Task deleting = DeleteAsync(entry);
        _deleting[port] = deleting;
        _ = deleting.ContinueWith(
            done =>
            {
                lock (_lock)
                {
                    if (_deleting.TryGetValue(port, out Task? current) && current == done)
                    {
                        _deleting.Remove(port);
                    }
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task DeleteAsync(UpstreamEntry entry)
    {
        await Task.Yield();
        UpstreamClient? client = _client;
        if (client is null || !entry.Mapped || entry.Generation != _generation)
        {
            return;
        }

        UpstreamReply answer = await client.MapAsync(entry.Key, 0, string.Empty, s_renewDeadline, _stopping).ConfigureAwait(false);
        _metrics.Request("upstream", answer.Detail);
        Log.UpstreamDeleted(_logger, entry.LeaseId, entry.Protocol, entry.Port, answer.Detail);
        PublishMetrics();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                TaskCompletionSource wake = Volatile.Read(ref _wake);
                DateTimeOffset now = _time.GetUtcNow();
                if (_searchWanted || now >= _nextSearch)
                {
                    _searchWanted = false;
                    _nextSearch = DateTimeOffset.MaxValue;
                    await SearchAsync(stoppingToken).ConfigureAwait(false);
                    continue;
                }

                if (_client is not null && now >= _nextCheck)
                {
                    await CheckAsync(stoppingToken).ConfigureAwait(false);
                    continue;
                }

                RenewDue(now);
                DateTimeOffset due = NextDue();
                TimeSpan delay = due - _time.GetUtcNow();
                if (delay > TimeSpan.Zero)
                {
                    using var cancelDelay = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    await Task.WhenAny(Task.Delay(delay < TimeSpan.FromDays(1) ? delay : TimeSpan.FromDays(1), _time, cancelDelay.Token), wake.Task).ConfigureAwait(false);
                    await cancelDelay.CancelAsync().ConfigureAwait(false);
                    Interlocked.CompareExchange(ref _wake, NewWake(), wake);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            Deactivate();
        }
    }

    private DateTimeOffset NextDue()
    {
        DateTimeOffset due = _nextSearch;
        if (_client is not null && _nextCheck < due)
        {
            due = _nextCheck;
        }

        lock (_lock)
        {
            if (_renewals.TryPeek(out _, out DateTimeOffset renew) && renew < due)
            {
                due = renew;
            }
        }

        return due;
    }

    /// <summary>Renews (or retries) the upstream mappings that are due, while their local leases live.</summary>
    private void RenewDue(DateTimeOffset now)
    {
        lock (_lock)
        {
            while (_renewals.TryPeek(out UpstreamEntry? entry, out DateTimeOffset at) && at <= now)
            {
                _renewals.Dequeue();
                if (entry.Removed || entry.RenewAt != at || !_entries.ContainsKey(entry.LeaseId))
                {
                    continue; // a stale place in the queue
                }

                Ensure(entry, s_renewDeadline);
            }
        }
    }

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// The PCP nonce of a lease's upstream mapping, the same after a restart (the server refuses a renewal with
    /// another nonce): a keyed hash of the lease, with a key kept in the state directory.
    /// </summary>
    private byte[] NonceFor(Lease lease)
    {
        Span<byte> input = stackalloc byte[11];
        BitConverter.TryWriteBytes(input, lease.Id);
        input[8] = (byte)lease.Protocol;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(input[9..], lease.ExternalPort);
        return HMACSHA256.HashData(_nonceKey.Value, input)[..Protocols.Pcp.PcpCodec.NonceLength];
    }

    private static byte[] LoadNonceKey(string stateDirectory)
    {
        string path = Path.Combine(stateDirectory, "upstream.key");
        try
        {
            if (File.Exists(path) && File.ReadAllBytes(path) is { Length: 32 } kept)
            {
                return kept;
            }

            byte[] key = RandomNumberGenerator.GetBytes(32);
            Directory.CreateDirectory(stateDirectory);
            File.WriteAllBytes(path, key);
            return key;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Without a kept key the nonces change with a restart; the upstream's old mappings then run out instead.
            return RandomNumberGenerator.GetBytes(32);
        }
    }

    private void PublishMetrics()
    {
        int mapped = 0, failed = 0;
        lock (_lock)
        {
            foreach (UpstreamEntry entry in _entries.Values)
            {
                if (entry.Mapped)
                {
                    mapped++;
                }
                else if (entry.Failure is not null)
                {
                    failed++;
                }
            }
        }

        GatewayStatus status = _state.Current;
        uint? epoch;
        lock (_lock)
        {
            epoch = _lastEpoch?.Epoch;
        }

        _metrics.Upstream = (status.Upstream.Protocol, status.Upstream.Server?.ToString(), status.PublicAddress?.ToString(), epoch, mapped, failed);
    }
}
