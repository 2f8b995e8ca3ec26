using Microsoft.Extensions.Hosting;
using PortMapper.Gateway.Engine;
using PortMapper.KernelBackend.Netlink;

namespace PortMapper.Gateway.Network;

/// <summary>
/// Follows the WAN address: rtnetlink address events wake it at once; a poll once a minute covers anything missed
/// (a notification lost to a full socket buffer). An idle daemon does nothing else on its own.
/// </summary>
public sealed class WanMonitor : BackgroundService
{
    private static readonly TimeSpan s_poll = TimeSpan.FromMinutes(1);

    private readonly WanAddressSource _wan;
    private readonly MappingEngine _engine;

    public WanMonitor(WanAddressSource wan, MappingEngine engine)
    {
        _wan = wan;
        _engine = engine;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var monitor = new AddressMonitor();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    wait.CancelAfter(s_poll);
                    try
                    {
                        await monitor.WaitForChangeAsync(wait.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                    }
                }

                await _engine.SetExternalAddressAsync(_wan.Read()).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

    }
}
