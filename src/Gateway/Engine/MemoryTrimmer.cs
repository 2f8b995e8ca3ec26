using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Logging;

namespace PortMapper.Gateway.Engine;

/// <summary>
/// Gives memory back: after a burst the GC keeps free regions committed (22 MB of them over a 7.7 MB heap was
/// measured at 10,000 leases). When committed memory is well above what the heap needs, an aggressive collection
/// decommits it; on a router RSS matters more than a few ms twice a minute. Called from the engine's loop only.
/// </summary>
public sealed class MemoryTrimmer
{
    private static readonly TimeSpan s_checkInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_trimInterval = TimeSpan.FromSeconds(30);
    private static readonly long s_slack = 8L << 20;

    private readonly ILogger _logger;
    private DateTimeOffset _lastCheck;
    private DateTimeOffset _lastTrim = DateTimeOffset.MinValue;
    private long _versionAtTrim;
    private long _allocatedAtTrim;
    private long _allocatedAtCheck;

    public MemoryTrimmer(ILogger logger)
    {
        _logger = logger;
    }

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

        _lastCheck = now;
        GCMemoryInfo before = GC.GetGCMemoryInfo();
        bool bloated = before.TotalCommittedBytes > (2 * before.HeapSizeBytes) + s_slack;

        // An idle daemon allocates nothing, so no collection updates the heap figure above: once the table has
        // been quiet for a check interval after changing, collect anyway, once.
        bool settledAfterChanges = _versionAtTrim != version && now - lastChange >= s_checkInterval
            && before.TotalCommittedBytes > before.HeapSizeBytes + s_slack;

        // Work that leaves the table alone (the RTSP helper, HTTP) grows gen0 just as much: once the daemon has
        // allocated a good deal since the last trim and then gone quiet for a check interval, collect as well.
        long allocated = GC.GetTotalAllocatedBytes();
        bool settledAfterWork = allocated - _allocatedAtTrim > s_slack && allocated - _allocatedAtCheck < s_slack / 8;
        _allocatedAtCheck = allocated;
        if ((force || bloated || settledAfterChanges || settledAfterWork) && now - _lastTrim >= s_trimInterval)
        {
            _lastTrim = now;
            _versionAtTrim = version;
            _allocatedAtTrim = allocated;
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            KernelBackend.Native.NativeMemory.Trim(); // and what glibc keeps of native buffers (libnftables, sockets)
            GCMemoryInfo after = GC.GetGCMemoryInfo();
            Log.MemoryTrimmed(_logger, before.TotalCommittedBytes / 1048576.0, after.TotalCommittedBytes / 1048576.0, after.HeapSizeBytes / 1048576.0,
                Environment.WorkingSet / 1048576.0, leases);
        }
    }
}
