using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Logging;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Engine;

/// <summary>
/// Reinstalls the daemon's nftables table when a firewall reload has flushed or deleted it. Woken by nftables' own
/// change notifications (a deletion touching the table), it checks the table at once; without any notification it
/// checks once a minute, in case one was missed. An idle daemon does no work here.
/// </summary>
public sealed class KernelReconciler : BackgroundService
{
    /// <summary>The check made when no notification came.</summary>
    public static readonly TimeSpan FallbackInterval = TimeSpan.FromMinutes(1);

    /// <summary>A reload deletes and re-adds in several transactions: let the burst land before looking.</summary>
    private static readonly TimeSpan s_settle = TimeSpan.FromMilliseconds(20);

    private readonly IFirewallBackend _kernel;
    private readonly MappingEngine _engine;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public KernelReconciler(IFirewallBackend kernel, MappingEngine engine, TimeProvider time, ILogger<KernelReconciler> logger)
    {
        _kernel = kernel;
        _engine = engine;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Task? change = null;
        try
        {
            while (true)
            {
                change ??= Watch(stoppingToken);
                using (var fallback = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    Task first = await Task.WhenAny(change, Task.Delay(FallbackInterval, _time, fallback.Token)).ConfigureAwait(false);
                    await fallback.CancelAsync().ConfigureAwait(false);
                    stoppingToken.ThrowIfCancellationRequested();
                    if (first == change)
                    {
                        change = null;
                        await Task.Delay(s_settle, _time, stoppingToken).ConfigureAwait(false);
                    }
                }

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

    /// <summary>The kernel's notifications; if they cannot be had, the fallback check is all there is.</summary>
    private async Task Watch(CancellationToken stoppingToken)
    {
        try
        {
            await _kernel.WaitForOutsideChangeAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            Log.ChangeNotificationsUnavailable(_logger, e.Message, (int)FallbackInterval.TotalSeconds);
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, stoppingToken).ConfigureAwait(false);
        }
    }
}
