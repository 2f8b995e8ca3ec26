using Microsoft.Extensions.Hosting;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Engine;

/// <summary>
/// Checks four times a second that the daemon's nftables table is still whole; when a firewall reload has
/// flushed or deleted it, the engine reinstalls every live mapping in one transaction.
/// </summary>
public sealed class KernelReconciler : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly IFirewallBackend _kernel;
    private readonly MappingEngine _engine;
    private readonly TimeProvider _time;

    public KernelReconciler(IFirewallBackend kernel, MappingEngine engine, TimeProvider time)
    {
        _kernel = kernel;
        _engine = engine;
        _time = time;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!_kernel.IsIntact())
                {
                    await _engine.RequestRebuildAsync().ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
