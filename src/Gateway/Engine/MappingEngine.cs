using System.Diagnostics;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Persistence;
using PortMapper.Gateway.Status;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Engine;

/// <summary>
/// The lease table's only writer: the request queue and group commit. Requests from every front end queue here;
/// the loop takes them in batches, runs each against the table (whose <see cref="Admission"/> decides), writes
/// the batch's changes to the journal and, through <see cref="KernelSync"/>, to the kernel (one write, one
/// nftables transaction), and only then answers. Under load one journal write and one kernel transaction serve
/// hundreds of requests. A lease the kernel refuses fails its own request and no other.
/// </summary>
public sealed partial class MappingEngine : BackgroundService
{
    private const int MaxBatch = 512;

    /// <summary>The longest the sweeper sleeps when no lease expires sooner: an idle daemon wakes once a minute.</summary>
    private static readonly TimeSpan s_idleSweep = TimeSpan.FromMinutes(1);

    private readonly GatewayOptions _options;
    private readonly LeaseStore _store;
    private readonly KernelSync _kernel;
    private readonly MemoryTrimmer _trimmer;
    private readonly Admission _admission;
    private readonly GatewayState _state;
    private readonly WanAddressSource _wan;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly FlowReaper? _reaper;
    private readonly Channel<EngineWork> _queue = Channel.CreateBounded<EngineWork>(
        new BoundedChannelOptions(8192) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Lock _tableLock = new();
    private readonly List<LeaseChange> _changes = [];
    private readonly List<EngineWork> _batch = [];
    private TaskCompletionSource _sweepWake = NewWake();
    private DateTimeOffset _sweepDue = DateTimeOffset.MaxValue; // what the sweeper waits for; under _tableLock
    private LeaseTable _table;
    private volatile GatewayOptions _current;
    private readonly Events.EventLog? _events;
    private readonly Devices.DeviceDirectory? _devices;
    private readonly Upstream.UpstreamService? _upstream;

    public MappingEngine(
        GatewayOptions options,
        LeaseStore store,
        IFirewallBackend kernel,
        GatewayState state,
        WanAddressSource wan,
        TimeProvider time,
        ILogger<MappingEngine> logger,
        GatewayMetrics? metrics = null,
        FlowReaper? reaper = null,
        Admission? admission = null,
        Events.EventLog? events = null,
        Devices.DeviceDirectory? devices = null,
        Devices.OpenNatController? openNat = null,
        Upstream.UpstreamService? upstream = null)
    {
        _upstream = upstream;
        upstream?.Attach(this);
        // The Open NAT devices go into the kernel with the first build of the table.
        openNat?.Apply();
        _events = events;
        _devices = devices;
        _reaper = options.Settings.EndFlows ? reaper : null;
        _metrics = metrics ?? new GatewayMetrics();
        _options = options;
        _store = store;
        _kernel = new KernelSync(kernel, _metrics, logger);
        _trimmer = new MemoryTrimmer(logger);
        _state = state;
        _wan = wan;
        _time = time;
        _logger = logger;
        _admission = admission ?? new Admission(options.LeaseTable, options.Policy, time: time);
        _table = new LeaseTable(_admission);
        _current = options;
    }

    /// <summary>The admission stage every request passes (the RTSP helper asks it directly for media ports).</summary>
    public Admission Admission => _admission;

    /// <summary>The options requests are judged by now: the start-up ones, or those of the last reload.</summary>
    public GatewayOptions Options => _current;

    /// <summary>
    /// Queues a mapping request from a device (whose quota it counts against). False when the queue is full (the
    /// request is dropped, as UDP may be).
    /// </summary>
    public bool Submit(in MappingCommand command, DeviceId device, Action<MappingOutcome> reply) =>
        _queue.Writer.TryWrite(new EngineWork { Kind = EngineWorkKind.Mapping, Command = command, Device = device, Reply = reply });

    /// <summary>Runs a mapping request and waits until its result is durable.</summary>
    public Task<MappingOutcome> RunAsync(MappingCommand command, CancellationToken cancellationToken) =>
        RunAsync(command, DeviceId.OfAddress(command.Client), cancellationToken);

    /// <summary>Runs a device's mapping request and waits until its result is durable.</summary>
    public Task<MappingOutcome> RunAsync(MappingCommand command, DeviceId device, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<MappingOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        return Submit(command, device, o => done.TrySetResult(o))
            ? done.Task.WaitAsync(cancellationToken)
            : Task.FromResult(MappingOutcome.Denied(MappingStatus.NoResources));
    }

    public Task<bool> RevokeAsync(long leaseId) => Post(new EngineWork { Kind = EngineWorkKind.Revoke, LeaseId = leaseId, Done = NewDone() });

    public Task<bool> SetExternalAddressAsync(IPAddress? address) =>
        Post(new EngineWork { Kind = EngineWorkKind.ExternalAddress, Address = address, Done = NewDone() });

    /// <summary>Publishes what the upstream search found; <paramref name="restart"/> starts a new epoch (the upstream lost its mappings).</summary>
    public Task<bool> SetUpstreamAsync(UpstreamStatus upstream, IPAddress? publicAddress, bool restart) =>
        Post(new EngineWork { Kind = EngineWorkKind.Upstream, Upstream = upstream, Address = publicAddress, Restart = restart, Done = NewDone() });

    /// <summary>Applies reloaded policy and limits between two batches; no lease is dropped.</summary>
    public Task<bool> ReconfigureAsync(GatewayOptions options) => Post(new EngineWork { Kind = EngineWorkKind.Reconfigure, Options = options, Done = NewDone() });

    /// <summary>Revokes at once the leases of devices that may no longer map ports; true when some were revoked.</summary>
    public Task<bool> EnforceDevicePermissionsAsync() => Post(new EngineWork { Kind = EngineWorkKind.EnforceDevices, Done = NewDone() });

    public Task<bool> RequestRebuildAsync() => Post(new EngineWork { Kind = EngineWorkKind.Rebuild, Done = NewDone() });

    public IReadOnlyList<Lease> Leases()
    {
        lock (_tableLock)
        {
            return [.. _table.Leases];
        }
    }

    /// <summary>
    /// Restores the table and programs the kernel before any listener starts. Whatever the state directory holds,
    /// the daemon starts: unreadable records are skipped, and a lease that admission or the kernel now refuses is
    /// dropped with a warning (and journaled as removed); only a kernel that accepts nothing at all stops it.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        DateTimeOffset now = _time.GetUtcNow();
        StoredState stored = _store.Load();
        if (stored.DiscardedBytes > 0)
        {
            Log.TornJournal(_logger, stored.DiscardedBytes);
        }

        if (stored.SkippedRecords > 0)
        {
            Log.JournalRecordsSkipped(_logger, stored.SkippedRecords, stored.SkipReason ?? "unreadable");
        }

        long loaded = Stopwatch.GetTimestamp();
        var table = new LeaseTable(_admission, stored.NextId);
        int restored = 0, expired = 0;
        foreach (Lease lease in stored.Leases)
        {
            if (table.Restore(lease, now) is { } reason)
            {
                if (reason == LeaseTable.ExpiredReason)
                {
                    expired++;
                }
                else
                {
                    Log.RestoreDropped(_logger, lease.Id, lease.Protocol, lease.ExternalPort, lease.InternalAddress, lease.InternalPort, reason);
                }
            }
            else
            {
                restored++;
            }
        }

        IPAddress? external = _wan.Read();

        // The epoch goes on only if the state was kept and the external address is the one it was kept for.
        bool keepEpoch = stored.EpochStart is not null && Equals(stored.EpochAddress, external);
        DateTimeOffset epochStart = keepEpoch ? stored.EpochStart!.Value : now;
        lock (_tableLock)
        {
            _table = table;
        }

        PublishStatus(external, epochStart, kernelInSync: false);
        Log.Interfaces(_logger, _options.WanInterface, string.Join(", ", _options.LanInterfaces.Select(l => l.Name)), _options.Settings.FirewallMode.ToString().ToLowerInvariant(), _options.Settings.TableName);
        ReportExternalAddress(external);
        long tabled = Stopwatch.GetTimestamp();
        bool adopted = TryAdopt(stored.Leases, restoredAll: restored + expired == stored.Leases.Count, now);
        if (!adopted)
        {
            Rebuild(now);
        }

        long programmed = Stopwatch.GetTimestamp();
        restored -= _changes.Count;
        _changes.Clear();
        if (!_store.Compact(table.Leases, epochStart, external, table.NextId))
        {
            // A full disk does not stop the start: the journal as it was holds every lease; new ones wait for space.
            Log.JournalFailing(_logger, _options.Settings.StateDirectory, _store.FailureReason ?? "write failed");
            _store.MarkFailing();
        }

        Log.StartPhases(_logger, Stopwatch.GetElapsedTime(started, loaded).TotalMilliseconds, Stopwatch.GetElapsedTime(loaded, tabled).TotalMilliseconds,
            adopted ? "taken over as left" : "rebuilt", Stopwatch.GetElapsedTime(tabled, programmed).TotalMilliseconds, Stopwatch.GetElapsedTime(programmed).TotalMilliseconds);

        if (!_state.Current.KernelInSync)
        {
            // Serving requests that cannot reach the kernel would only mislead clients.
            throw new FirewallException($"cannot install the nftables table '{_options.Settings.TableName}' (see the error above); is this root, or CAP_NET_ADMIN?");
        }

        Log.Restored(_logger, restored, expired, stored.Leases.Count - restored - expired, _options.Settings.StateDirectory, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        _state.Announce(_state.Current);
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);

        // The kernel keeps its entries: forwarding goes on while the daemon restarts, and they expire on time.
        _store.Flush();
        _store.WaitUntilDurable();

        // The next start takes the table over as it is, if nobody touches the ruleset in between.
        if (_state.Current.KernelInSync && _kernel.Stamp(_state.Current.ExternalAddress) is { } kernel)
        {
            try
            {
                KernelStamp.Write(_options.Settings.StateDirectory, new KernelStamp(kernel, _state.Current.ExternalAddress, KernelStamp.Digest(LiveLeases())));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Log.KernelStampUnwritten(_logger, e.Message);
            }
        }
    }

    /// <summary>
    /// At start: takes over the kernel's table as the last clean stop left it, when its stamp says nothing was
    /// committed to the ruleset since, the external address is the same and the journal holds the very leases the
    /// table was left with (every one restored). Else false, and the table is rebuilt.
    /// </summary>
    private bool TryAdopt(IReadOnlyCollection<Lease> stored, bool restoredAll, DateTimeOffset now)
    {
        if (KernelStamp.Take(_options.Settings.StateDirectory) is not { } left)
        {
            return false;
        }

        string? refusal = !restoredAll ? "not every lease was restored"
            : !Equals(left.External, _state.Current.ExternalAddress) ? "the external address changed"
            : left.Leases != KernelStamp.Digest(stored) ? "the journal holds other leases than the table was left with"
            : _kernel.Adopt(_options.KernelGenerationAtStart, left.Kernel, LiveLeases(), _state.Current.ExternalAddress, now);
        if (refusal is not null)
        {
            Log.KernelNotAdopted(_logger, refusal);
            return false;
        }

        Settle(KernelSyncResult.InSync, now, rebuilt: true);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Task sweeper = SweepLoopAsync(stoppingToken);
        try
        {
            ChannelReader<EngineWork> reader = _queue.Reader;
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out EngineWork? work))
                {
                    _batch.Add(work);
                    if (_batch.Count == MaxBatch)
                    {
                        break;
                    }
                }

                ProcessBatch();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await sweeper.ConfigureAwait(false);
    }

    /// <summary>
    /// Sweeps when the next lease expires (or the memory trimmer is due), not on a fixed tick: an idle daemon with
    /// no lease about to expire sleeps up to a minute. A batch that brings the next run forward wakes it to look again.
    /// </summary>
    private async Task SweepLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                TaskCompletionSource wake = Volatile.Read(ref _sweepWake);
                TimeSpan delay = NextSweep() - _time.GetUtcNow();
                if (delay > TimeSpan.Zero)
                {
                    using var cancelDelay = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    Task timer = Task.Delay(delay, _time, cancelDelay.Token);
                    Task first = await Task.WhenAny(timer, wake.Task).ConfigureAwait(false);
                    cancelDelay.Cancel(); // synchronously: when the timer fired, the sweep is queued within its callback
                    stoppingToken.ThrowIfCancellationRequested();
                    if (first == wake.Task)
                    {
                        Interlocked.CompareExchange(ref _sweepWake, NewWake(), wake);
                        continue;
                    }
                }

                // Wait for the sweep to run, so that the next look sees the expired leases gone.
                var sweep = new EngineWork { Kind = EngineWorkKind.Sweep, Done = NewDone() };
                await _queue.Writer.WriteAsync(sweep, stoppingToken).ConfigureAwait(false);
                await sweep.Done!.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>When the sweeper should next run (and will wait for): the next expiry, the trimmer's next check, or a minute from now.</summary>
    private DateTimeOffset NextSweep()
    {
        lock (_tableLock)
        {
            _sweepDue = SweepDue(_time.GetUtcNow() + s_idleSweep);
            return _sweepDue;
        }
    }

    /// <summary>The earlier of <paramref name="latest"/>, the next expiry and the trimmer's next check. Caller holds the table lock.</summary>
    private DateTimeOffset SweepDue(DateTimeOffset latest)
    {
        DateTimeOffset due = latest;
        if (_table.NextExpiry is { } expiry && expiry < due)
        {
            due = expiry;
        }

        if (_trimmer.NextCheck(_lastChange) is { } check && check < due)
        {
            due = check;
        }

        return due;
    }

    /// <summary>Wakes the sweeper only when a change brought its next run forward. Caller holds the table lock.</summary>
    private void WakeSweeperIfSooner()
    {
        if (SweepDue(_sweepDue) < _sweepDue)
        {
            Volatile.Read(ref _sweepWake).TrySetResult();
        }
    }

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task<bool> Post(EngineWork work)
    {
        await _queue.Writer.WriteAsync(work).ConfigureAwait(false);
        return await work.Done!.Task.ConfigureAwait(false);
    }

    private static TaskCompletionSource<bool> NewDone() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
