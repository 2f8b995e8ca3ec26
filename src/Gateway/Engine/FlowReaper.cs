using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Engine;

/// <summary>
/// Ends the conntrack flows of leases that were deleted or ran out, off the engine's path: without this an
/// established flow keeps forwarding (and keeps its translated port) after its mapping is gone. Endpoints that
/// end together are handled with one scan of the conntrack table, and scans are at least <see cref="MinimumGap"/>
/// apart: a scan walks every bucket of the kernel's hash (262,144 on a large machine) whatever it finds, so a
/// burst of deletes made one scan each kept a core busy and delayed the requests that came next.
/// </summary>
public sealed class FlowReaper : BackgroundService
{
    /// <summary>The least time between two scans; endpoints that end meanwhile wait for the next one.</summary>
    public static readonly TimeSpan MinimumGap = TimeSpan.FromMilliseconds(250);

    private readonly IFlowTable _flows;
    private readonly ILogger _logger;
    private readonly Channel<FlowEndpoint[]> _queue = Channel.CreateBounded<FlowEndpoint[]>(
        new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });

    public FlowReaper(IFlowTable flows, ILogger<FlowReaper> logger)
    {
        _flows = flows;
        _logger = logger;
    }

    /// <summary>
    /// The flows the leases that ended in a batch admitted: inbound flows translated to each lease's own internal
    /// endpoint, and its own port-preserved outbound flows; never another host's masqueraded flow on the same
    /// external port, nor the gateway's own.
    /// </summary>
    public void SubmitEnded(IReadOnlyList<LeaseChange> changes, IPAddress? external) => Submit([.. changes
        .Where(c => c.Kind is LeaseChangeKind.Removed or LeaseChangeKind.Expired)
        .Select(c => c.Lease)
        .Select(l => l.IsPinhole
            ? new FlowEndpoint(l.InternalAddress, (TransportProtocol)(byte)l.Protocol, l.InternalPort)
            : external is null ? default
            : new FlowEndpoint(external, (TransportProtocol)(byte)l.Protocol, l.ExternalPort, null, l.InternalAddress, l.InternalPort))
        .Where(e => e.Address is not null)]);

    public void Submit(FlowEndpoint[] endpoints)
    {
        if (endpoints.Length > 0)
        {
            _queue.Writer.TryWrite(endpoints);
        }
    }

    /// <summary>
    /// Scans on a thread of its own at the lowest priority (nice 19): the scan's cost is kernel time spent in the
    /// calling thread, and the requests that come meanwhile must not wait behind it.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                KernelBackend.Native.ThreadPriority.LowerCurrentThread();
                Run(stoppingToken);
            }
            finally
            {
                done.TrySetResult();
            }
        })
        { IsBackground = true, Name = "flow reaper" };
        thread.Start();
        return done.Task;
    }

    private void Run(CancellationToken stoppingToken)
    {
        ChannelReader<FlowEndpoint[]> reader = _queue.Reader;
        try
        {
            while (reader.WaitToReadAsync(stoppingToken).AsTask().GetAwaiter().GetResult())
            {
                var batch = new HashSet<FlowEndpoint>();
                while (reader.TryRead(out FlowEndpoint[]? endpoints))
                {
                    batch.UnionWith(endpoints);
                }

                try
                {
                    int ended = _flows.EndFlows(batch);
                    Log.FlowsEnded(_logger, ended, batch.Count);
                }
                catch (System.Net.Sockets.SocketException e)
                {
                    Log.FlowsNotEnded(_logger, e.Message, batch.Count);
                }

                stoppingToken.WaitHandle.WaitOne(MinimumGap);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
