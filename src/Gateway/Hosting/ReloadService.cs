using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;

namespace PortMapper.Gateway.Hosting;

/// <summary>
/// SIGHUP (systemctl reload) re-reads the configuration. A configuration with errors is refused and the running one
/// kept. Otherwise the settings the <see cref="SettingTable"/> marks reloadable (policy rules, secure mode, quotas,
/// lifetime, reserved ports, PCP third-party and filter limits, UPnP pinhole and permanent-lease switches, the rate
/// limit and the log level) apply at once: the engine swaps the live options between two batches, and every
/// service reads them from there, with no lease dropped. The others need sockets or the kernel table rebuilt; they
/// are named in a warning and wait for a restart.
/// </summary>
public sealed class ReloadService : BackgroundService
{
    private readonly SettingsSource _source;
    private readonly INetworkInventory _inventory;
    private readonly MappingEngine _engine;
    private readonly RateLimiter _rateLimiter;
    private readonly ILogger _logger;
    private readonly Devices.DeviceDirectory? _devices;
    private readonly Devices.OpenNatController? _openNat;
    private readonly SemaphoreSlim _signals = new(0);

    public ReloadService(SettingsSource source, INetworkInventory inventory, MappingEngine engine, RateLimiter rateLimiter, ILogger<ReloadService> logger,
        Devices.DeviceDirectory? devices = null, Devices.OpenNatController? openNat = null)
    {
        _devices = devices;
        _openNat = openNat;
        _source = source;
        _inventory = inventory;
        _engine = engine;
        _rateLimiter = rateLimiter;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using PosixSignalRegistration hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // not the default (terminate): reload
            _signals.Release();
        });
        try
        {
            while (true)
            {
                await _signals.WaitAsync(stoppingToken).ConfigureAwait(false);
                await ReloadAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _signals.Dispose();
        base.Dispose();
    }

    private async Task ReloadAsync()
    {
        var (settings, errors) = _source.Read();
        GatewayOptions? options = GatewayConfiguration.Resolve(settings, _inventory, errors);
        if (options is null || errors.Count > 0)
        {
            foreach (string error in errors)
            {
                Log.ReloadError(_logger, error);
            }

            Log.ReloadRefused(_logger, errors.Count);
            return;
        }

        GatewayOptions running = _engine.Options;
        List<string> restart = NeedsRestart(running, options);
        if (restart.Count > 0)
        {
            Log.ReloadNeedsRestart(_logger, string.Join(", ", restart));
        }

        _devices?.Reconfigure(settings.DevicesDefaultAllow, settings.DeviceRules, settings.DevicesLeaseFile, settings.OpenNatDevices);
        await _engine.ReconfigureAsync(options).ConfigureAwait(false);
        _openNat?.Apply();
        _rateLimiter.Reconfigure(settings.RateLimitPerSecond, settings.RateLimitBurst);
        Logging.Level.MinimumLevel = Logging.Parse(settings.LogLevel);
        Log.Reloaded(_logger, _engine.Leases().Count);
    }

    /// <summary>The keys whose change only a restart can apply, in the order of the <see cref="SettingTable"/>.</summary>
    public static List<string> NeedsRestart(GatewayOptions running, GatewayOptions reloaded)
    {
        var names = new List<string>();
        if (running.WanInterface != reloaded.WanInterface)
        {
            names.Add("wan"); // the same setting can name another interface once the default route moved
        }

        if (!running.LanInterfaces.Select(l => l.Name).SequenceEqual(reloaded.LanInterfaces.Select(l => l.Name)))
        {
            names.Add("lan");
        }

        foreach (Setting setting in SettingTable.All.Where(s => !s.Reloadable && !s.Same(running.Settings, reloaded.Settings)))
        {
            if (!names.Contains(setting.Key))
            {
                names.Add(setting.Key);
            }
        }

        return names;
    }
}
