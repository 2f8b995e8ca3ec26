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
/// kept. Otherwise policy rules, secure mode, quota, lifetime, reserved ports, PCP third-party and filter limits,
/// UPnP pinhole and permanent-lease switches, the rate limit and the log level apply at once, with no lease
/// dropped; what needs sockets or the kernel table rebuilt (interfaces, ports, firewall mode, which protocols
/// run, the state directory) is named in a warning and waits for a restart.
/// </summary>
public sealed class ReloadService : BackgroundService
{
    private readonly SettingsSource _source;
    private readonly INetworkInventory _inventory;
    private readonly MappingEngine _engine;
    private readonly RateLimiter _rateLimiter;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _signals = new(0);

    public ReloadService(SettingsSource source, INetworkInventory inventory, MappingEngine engine, RateLimiter rateLimiter, ILogger<ReloadService> logger)
    {
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

        await _engine.ReconfigureAsync(options).ConfigureAwait(false);
        _rateLimiter.Reconfigure(settings.RateLimitPerSecond, settings.RateLimitBurst);
        Logging.Level.MinimumLevel = Logging.Parse(settings.LogLevel);
        Log.Reloaded(_logger, _engine.Leases().Count);
    }

    /// <summary>The settings whose change only a restart can apply.</summary>
    public static List<string> NeedsRestart(GatewayOptions running, GatewayOptions reloaded)
    {
        GatewaySettings a = running.Settings, b = reloaded.Settings;
        var names = new List<string>();
        void Check(bool same, string name)
        {
            if (!same)
            {
                names.Add(name);
            }
        }

        Check(running.WanInterface == reloaded.WanInterface, "wan");
        Check(running.LanInterfaces.Select(l => l.Name).SequenceEqual(reloaded.LanInterfaces.Select(l => l.Name)), "lan");
        Check(a.StateDirectory == b.StateDirectory, "stateDir");
        Check(a.FirewallMode == b.FirewallMode && a.TableName == b.TableName && a.FirewallMark == b.FirewallMark && a.Hairpin == b.Hairpin && a.PreservePorts == b.PreservePorts && a.EndFlows == b.EndFlows, "firewall");
        Check(a.SipHelper == b.SipHelper && a.SipPorts.SequenceEqual(b.SipPorts) && a.RtspHelper == b.RtspHelper && a.RtspPorts.SequenceEqual(b.RtspPorts)
            && a.RtspLogGroup == b.RtspLogGroup, "helpers");
        Check(a.NatPmpEnabled == b.NatPmpEnabled, "natPmp.enabled");
        Check(a.PcpEnabled == b.PcpEnabled, "pcp.enabled");
        Check(a.UpnpEnabled == b.UpnpEnabled && a.UpnpHttpPort == b.UpnpHttpPort && a.UpnpNotifyIntervalSeconds == b.UpnpNotifyIntervalSeconds
            && a.UpnpFriendlyName == b.UpnpFriendlyName && a.UpnpMaxSubscriptions == b.UpnpMaxSubscriptions
            && a.UpnpMaxSubscriptionsPerHost == b.UpnpMaxSubscriptionsPerHost && a.UpnpMaxConnectionsPerHost == b.UpnpMaxConnectionsPerHost, "upnp (sockets and eventing)");
        Check(Equals(running.AdminEndpoint, reloaded.AdminEndpoint) && a.AdminMdns == b.AdminMdns, "admin");
        Check(a.Fsync == b.Fsync, "persistence.fsync");
        return names;
    }
}
