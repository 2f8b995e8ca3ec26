using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace PortMapper.Gateway.Admin;

/// <summary>
/// Counters and a latency histogram for <c>/metrics</c>, written in the Prometheus text format (0.0.4). Thread-safe;
/// counting is an interlocked add, so the hot paths pay next to nothing.
/// </summary>
public sealed class GatewayMetrics
{
    /// <summary>Upper bounds of the kernel latency buckets, in seconds.</summary>
    private static readonly double[] s_buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

    private readonly ConcurrentDictionary<(string Protocol, string Result), long[]> _requests = new();
    private readonly ConcurrentDictionary<string, long[]> _drops = new();
    private readonly ConcurrentDictionary<string, Histogram> _kernel = new();

    // Requests per minute over the last hour: slot = minute % 60, each slot tagged with the minute it counts.
    private readonly long[] _perMinute = new long[60];
    private readonly long[] _perMinuteStamp = new long[60];

    /// <summary>A request answered by a front end: its protocol and the protocol's own result (code or name).</summary>
    public void Request(string protocol, string result)
    {
        Interlocked.Increment(ref _requests.GetOrAdd((protocol, result), _ => new long[1])[0]);
        long minute = Environment.TickCount64 / 60_000;
        int slot = (int)(minute % 60);
        long stamp = Interlocked.Read(ref _perMinuteStamp[slot]);
        if (stamp != minute && Interlocked.CompareExchange(ref _perMinuteStamp[slot], minute, stamp) == stamp)
        {
            Interlocked.Exchange(ref _perMinute[slot], 0);
        }

        Interlocked.Increment(ref _perMinute[slot]);
    }

    /// <summary>Requests answered in each of the last 60 minutes, oldest first (the last one is the current minute so far).</summary>
    public long[] RequestsPerMinute()
    {
        long now = Environment.TickCount64 / 60_000;
        var counts = new long[60];
        for (int i = 0; i < 60; i++)
        {
            long minute = now - 59 + i;
            int slot = (int)(((minute % 60) + 60) % 60);
            counts[i] = Interlocked.Read(ref _perMinuteStamp[slot]) == minute ? Interlocked.Read(ref _perMinute[slot]) : 0;
        }

        return counts;
    }

    /// <summary>
    /// The upstream server's protocol ("pcp", "natpmp", "upnp", "none", "off"), its address, the public address and its
    /// epoch, and the upstream mappings held and failed.
    /// </summary>
    public (string Protocol, string? Server, string? PublicAddress, uint? Epoch, int Mapped, int Failed) Upstream { get; set; } = ("none", null, null, null, 0, 0);

    /// <summary>A datagram, connection or request dropped without an answer.</summary>
    public void Drop(string reason) => Interlocked.Increment(ref _drops.GetOrAdd(reason, _ => new long[1])[0]);

    public void KernelOperation(string operation, TimeSpan elapsed) => _kernel.GetOrAdd(operation, _ => new Histogram()).Observe(elapsed.TotalSeconds);

    public long RequestCount(string protocol, string result) => _requests.TryGetValue((protocol, result), out long[]? n) ? Interlocked.Read(ref n[0]) : 0;

    public long DropCount(string reason) => _drops.TryGetValue(reason, out long[]? n) ? Interlocked.Read(ref n[0]) : 0;

    /// <summary>The exposition text; <paramref name="leases"/> are the live leases by protocol, <paramref name="rtsp"/> what the RTSP helper follows and holds open.</summary>
    public string Render(IReadOnlyDictionary<string, int> leases, (int Connections, int MediaPorts)? rtsp = null)
    {
        var text = new StringBuilder(2048);
        text.Append("# HELP portmapper_leases Live leases, by the protocol that created them.\n# TYPE portmapper_leases gauge\n");
        foreach (var (protocol, count) in leases.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Line(text, "portmapper_leases", $"protocol=\"{protocol}\"", count);
        }

        if (rtsp is { } r)
        {
            text.Append("# HELP portmapper_rtsp_connections RTSP control connections the helper follows.\n# TYPE portmapper_rtsp_connections gauge\n");
            text.Append("portmapper_rtsp_connections ").Append(r.Connections.ToString(CultureInfo.InvariantCulture)).Append('\n');
            text.Append("# HELP portmapper_rtsp_media_ports UDP media ports the RTSP helper holds open.\n# TYPE portmapper_rtsp_media_ports gauge\n");
            text.Append("portmapper_rtsp_media_ports ").Append(r.MediaPorts.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        (string upstream, string? server, string? publicAddress, uint? epoch, int mapped, int failed) = Upstream;
        text.Append("# HELP portmapper_upstream_info The upstream port-mapping server mappings are carried to (double NAT): protocol, server, the public address clients are told.\n# TYPE portmapper_upstream_info gauge\n");
        Line(text, "portmapper_upstream_info", $"protocol=\"{upstream}\",server=\"{server}\",public_address=\"{publicAddress}\"", 1);
        if (epoch is { } seconds)
        {
            text.Append("# HELP portmapper_upstream_epoch_seconds The upstream server's epoch when last checked (PCP, NAT-PMP).\n# TYPE portmapper_upstream_epoch_seconds gauge\n");
            text.Append("portmapper_upstream_epoch_seconds ").Append(seconds.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        text.Append("# HELP portmapper_upstream_mappings Leases carried upstream, by state.\n# TYPE portmapper_upstream_mappings gauge\n");
        Line(text, "portmapper_upstream_mappings", "state=\"mapped\"", mapped);
        Line(text, "portmapper_upstream_mappings", "state=\"failed\"", failed);

        text.Append("# HELP portmapper_requests_total Requests answered, by protocol and result.\n# TYPE portmapper_requests_total counter\n");
        foreach (var ((protocol, result), n) in _requests.OrderBy(p => p.Key.Protocol, StringComparer.Ordinal).ThenBy(p => p.Key.Result, StringComparer.Ordinal))
        {
            Line(text, "portmapper_requests_total", $"protocol=\"{protocol}\",result=\"{result}\"", Interlocked.Read(ref n[0]));
        }

        text.Append("# HELP portmapper_dropped_total Datagrams, connections and requests dropped unanswered, by reason.\n# TYPE portmapper_dropped_total counter\n");
        foreach (var (reason, n) in _drops.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Line(text, "portmapper_dropped_total", $"reason=\"{reason}\"", Interlocked.Read(ref n[0]));
        }

        // Memory, for whoever runs this on a small router: what the process holds, and the managed share of it.
        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        text.Append("# HELP portmapper_memory_bytes Memory of the daemon: resident, GC committed, GC heap (after the last collection) and the free space in it, allocated since start.\n# TYPE portmapper_memory_bytes gauge\n");
        Line(text, "portmapper_memory_bytes", "kind=\"resident\"", Environment.WorkingSet);
        Line(text, "portmapper_memory_bytes", "kind=\"gc_committed\"", gc.TotalCommittedBytes);
        Line(text, "portmapper_memory_bytes", "kind=\"gc_heap\"", gc.HeapSizeBytes);
        Line(text, "portmapper_memory_bytes", "kind=\"gc_fragmented\"", gc.FragmentedBytes);
        Line(text, "portmapper_memory_bytes", "kind=\"gc_allocated_total\"", GC.GetTotalAllocatedBytes());
        text.Append("# HELP portmapper_gc_collections_total Garbage collections, by generation.\n# TYPE portmapper_gc_collections_total counter\n");
        for (int generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            Line(text, "portmapper_gc_collections_total", string.Create(CultureInfo.InvariantCulture, $"generation=\"{generation}\""), GC.CollectionCount(generation));
        }

        text.Append("# HELP portmapper_kernel_operation_seconds Latency of nftables transactions, by operation.\n# TYPE portmapper_kernel_operation_seconds histogram\n");
        foreach (var (operation, histogram) in _kernel.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            histogram.Render(text, $"operation=\"{operation}\"");
        }

        return text.ToString();
    }

    private static void Line(StringBuilder text, string name, string labels, double value) =>
        text.Append(name).Append('{').Append(labels).Append("} ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    private sealed class Histogram
    {
        private readonly Lock _lock = new();
        private readonly long[] _counts = new long[s_buckets.Length];
        private long _count;
        private double _sum;

        public void Observe(double seconds)
        {
            lock (_lock)
            {
                for (int i = 0; i < s_buckets.Length; i++)
                {
                    if (seconds <= s_buckets[i])
                    {
                        _counts[i]++;
                    }
                }

                _count++;
                _sum += seconds;
            }
        }

        public void Render(StringBuilder text, string labels)
        {
            lock (_lock)
            {
                for (int i = 0; i < s_buckets.Length; i++)
                {
                    Line(text, "portmapper_kernel_operation_seconds_bucket", $"{labels},le=\"{s_buckets[i].ToString("R", CultureInfo.InvariantCulture)}\"", _counts[i]);
                }

                Line(text, "portmapper_kernel_operation_seconds_bucket", $"{labels},le=\"+Inf\"", _count);
                Line(text, "portmapper_kernel_operation_seconds_sum", labels, _sum);
                Line(text, "portmapper_kernel_operation_seconds_count", labels, _count);
            }
        }
    }
}
