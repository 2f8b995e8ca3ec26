using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Logging;

namespace PortMapper.Gateway.Engine;

/// <summary>
/// Gives memory back: after a burst the GC keeps free regions committed (22 MB of them over a 7.7 MB heap was
/// measured at 10,000 leases). When committed memory is well above what the heap needs, an aggressive collection
/// decommits it; on a router RSS matters more than a few ms twice a minute. Once after start-up, too. Called from
/// the engine's loop only, and only when due (<see cref="NextCheck"/>): an idle daemon does not poll.
/// </summary>
public sealed class MemoryTrimmer
{
    private static readonly TimeSpan s_checkInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_trimInterval = TimeSpan.FromSeconds(15);
    private static readonly long s_slack = 8L << 20;
    private const double QuietRate = 200 * 1024; // bytes allocated per second below which the daemon is quiet

    private readonly ILogger _logger;
    private DateTimeOffset _lastCheck;
    private int _checks; // checks run every interval from start until one finds start-up over, so its garbage goes soon
    private DateTimeOffset _lastTrim = DateTimeOffset.MinValue;
    private const int MaxStartChecks = 6; // a daemon busy from its start on gets no start-up trim after 30 s
    private bool _startSettled; // a trim ran once start-up was over (listeners up, first announcements sent)
    private bool _deferred; // a trim was due, but the last one was too recent: check again when it may run
    private long _versionAtTrim;
    private long _allocatedAtTrim;
    private long _allocatedAtCheck;
    private double _busiestRate; // bytes per second over the busiest check interval since the last trim
    private long _heapAfterTrim = s_slack;

    /// <summary>
    /// How much the daemon may allocate between two young collections. The GC's own gen0 budget is sized from the
    /// CPU cache (tens of MB here), and its knobs for it are not read by this runtime: under load that is tens of MB
    /// of pages touched before the first collection, most of the daemon's high-water mark.
    /// </summary>
    public const long YoungBudget = 3L << 20;

    private long _allocatedAtYoung;

    public MemoryTrimmer(ILogger logger)
    {
        _logger = logger;
    }

    /// <summary>
    /// When the next check is due: every check interval while the table keeps changing, then once more when it
    /// has been quiet for an interval; every check interval from start until start-up has settled; when a trim was wanted but came too soon after the last one, as soon as it
    /// may run; none after that until the table changes again.
    /// </summary>
    /// <param name="lastChange">When the table last changed.</param>
    public DateTimeOffset? NextCheck(DateTimeOffset lastChange) =>
        _deferred ? Later(_lastTrim + s_trimInterval, _lastCheck + s_checkInterval)
        : (!_startSettled && _checks < MaxStartChecks) || lastChange - _lastCheck > -s_checkInterval ? _lastCheck + s_checkInterval
        : null;

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>After each batch: a young collection once the daemon has allocated <see cref="YoungBudget"/> since the last one.</summary>
    public void AfterBatch()
    {
        long allocated = GC.GetTotalAllocatedBytes();
        if (allocated - _allocatedAtYoung < YoungBudget)
        {
            return;
        }

        _allocatedAtYoung = allocated;
        if (GC.CollectionCount(0) == _youngCollections)
        {
            GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        }

        _youngCollections = GC.CollectionCount(0);
    }

    private int _youngCollections;

    /// <param name="now">The engine's clock.</param>
    /// <param name="version">The lease table's version (goes up with every change).</param>
    /// <param name="lastChange">When the table last changed.</param>
    /// <param name="leases">The table's size, for the log line.</param>
    /// <param name="force">Trim now if the last trim is old enough, whatever the figures (after a rebuild).</param>
    public void Check(DateTimeOffset now, long version, DateTimeOffset lastChange, int leases, bool force = false)
    {
        if (!force && now - _lastCheck < s_checkInterval)
        {
            return;
        }

        GCMemoryInfo before = GC.GetGCMemoryInfo();
        switch (Decide(now, version, lastChange, new MemoryFigures(before.TotalCommittedBytes, before.HeapSizeBytes, GC.GetTotalAllocatedBytes()), force))
        {
            case TrimAction.Collect:
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                GCMemoryInfo collected = GC.GetGCMemoryInfo();
                Collected(collected.HeapSizeBytes);
                Log.MemoryCollected(_logger, before.HeapSizeBytes / 1048576.0, collected.HeapSizeBytes / 1048576.0, collected.FragmentedBytes / 1048576.0,
                    collected.PinnedObjectsCount, leases);
                break;
            case TrimAction.Trim:
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                KernelBackend.Native.NativeMemory.Trim(); // and what glibc keeps of native buffers (libnftables, sockets)
                KernelBackend.Native.NativeMemory.ReleaseImagePages(); // and the executable's pages touched since
                GCMemoryInfo after = GC.GetGCMemoryInfo();
                Collected(after.HeapSizeBytes);
                Log.MemoryTrimmed(_logger, before.TotalCommittedBytes / 1048576.0, after.TotalCommittedBytes / 1048576.0, after.HeapSizeBytes / 1048576.0,
                    Environment.WorkingSet / 1048576.0, leases);
                break;
        }
    }

    /// <summary>What a check decides from the GC's figures (the heap after the last trim is the trimmer's own).</summary>
    /// <param name="now">The engine's clock.</param>
    /// <param name="version">The lease table's version.</param>
    /// <param name="lastChange">When the table last changed.</param>
    /// <param name="figures">Committed bytes, heap size after the last collection, bytes allocated so far.</param>
    /// <param name="force">Trim whatever the figures, if the last trim is old enough.</param>
    internal TrimAction Decide(DateTimeOffset now, long version, DateTimeOffset lastChange, MemoryFigures figures, bool force = false)
    {
        TimeSpan sinceCheck = now - _lastCheck;
        _lastCheck = now;
        _checks++;
        bool bloated = figures.Committed > (2 * figures.Heap) + s_slack;

        // An idle daemon allocates nothing, so no collection updates the heap figure above: once the table has
        // been quiet for a check interval after changing, collect anyway, once.
        bool settledAfterChanges = _versionAtTrim != version && now - lastChange >= s_checkInterval
            && figures.Committed > figures.Heap + s_slack;

        // Work that leaves the table alone (the RTSP helper, HTTP) grows gen0 just as much: once the daemon has
        // allocated a good deal since the last trim and then gone quiet, collect as well. Quiet is an allocation
        // rate under 200 KB/s, or under a quarter of the busiest interval since the last trim: when a load ends, the
        // leases it leaves keep expiring and their expiries (journal, kernel, GENA notifications) keep allocating,
        // so neither the table nor the allocations ever stop altogether.
        long allocated = figures.Allocated;
        double seconds = Math.Max(sinceCheck.TotalSeconds, s_checkInterval.TotalSeconds);
        double rate = (allocated - _allocatedAtCheck) / seconds;
        bool quiet = _checks > 1 && rate < Math.Max(QuietRate, _busiestRate / 4);
        if (_checks > 1)
        {
            _busiestRate = Math.Max(_busiestRate, rate);
        }
        bool settledAfterWork = allocated - _allocatedAtTrim > s_slack && quiet;

        // Start-up (configuration, listeners, the first kernel transaction) leaves garbage and touched pages behind.
        // The forced trim after the first rebuild runs before the listeners start, which touch more than half of the
        // executable's pages again: the start-up trim is the first one from the second check on.
        bool settledAfterStart = !_startSettled && _checks > 1 && quiet;
        _allocatedAtCheck = allocated;

        // Under steady load the daemon is never quiet, and what dies old (renewed leases, their records, connections)
        // piles up in generation 2, which the GC collects rarely: the heap grew from 13 to 50 MB in a few minutes of
        // the soak's load. Once it has grown by half what the last full collection left (and a few MB), collect it,
        // without the idle trim's extras, which would only be faulted back in by the load.
        bool grown = figures.Heap > _heapAfterTrim + Math.Max(_heapAfterTrim / 2, s_slack / 2);
        bool wanted = force || bloated || settledAfterChanges || settledAfterWork || settledAfterStart;
        _deferred = (wanted || grown) && now - _lastTrim < s_trimInterval;
        if (grown && !wanted && !_deferred)
        {
            _lastTrim = now;
            return TrimAction.Collect;
        }

        if (wanted && !_deferred)
        {
            _lastTrim = now;
            _startSettled |= _checks > 1;
            _versionAtTrim = version;
            _allocatedAtTrim = allocated;
            _busiestRate = 0;
            return TrimAction.Trim;
        }

        return TrimAction.None;
    }

    /// <summary>Notes the heap size a full collection left: the base the "grown" rule measures from.</summary>
    internal void Collected(long heap) => _heapAfterTrim = Math.Max(heap, s_slack);
}

/// <summary>What a memory check does.</summary>
internal enum TrimAction
{
    None,

    /// <summary>A full compacting collection (generation 2 has grown under load).</summary>
    Collect,

    /// <summary>The idle trim: an aggressive collection that decommits, glibc's trim, the image pages.</summary>
    Trim,
}

/// <summary>The GC's figures a memory check decides on.</summary>
internal readonly record struct MemoryFigures(long Committed, long Heap, long Allocated);
