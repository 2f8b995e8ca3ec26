using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.PortControl;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Persistence;
using PortMapper.Gateway.Status;
using PortMapper.Gateway.Upnp;
using PortMapper.KernelBackend;
using PortMapper.KernelBackend.Nftables;
using Serilog;

namespace PortMapper.Gateway.Hosting;

public static class GatewayHost
{
    public static IHost Build(GatewayOptions options, INetworkInventory inventory, Serilog.ILogger logger, SettingsSource? reload = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        IServiceCollection services = builder.Services;
        services.AddSerilog(logger);
        services.AddSystemd();
        services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });

        GatewaySettings settings = options.Settings;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(options);
        services.AddSingleton(inventory);
        services.AddSingleton<WanAddressSource>();
        services.AddSingleton<GatewayState>();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton(new LeaseStore(settings.StateDirectory, settings.Fsync));
        services.AddSingleton(new RateLimiter(settings.RateLimitPerSecond, settings.RateLimitBurst));

        // A client is a device: its MAC from the kernel's neighbour table. Admission also needs the ports the
        // gateway's own sockets hold on the WAN address, from the kernel's socket diagnostics.
        services.AddSingleton<KernelBackend.INeighbourTable>(_ => new KernelBackend.Netlink.NeighbourTable());
        services.AddSingleton(sp => new Devices.DeviceResolver(sp.GetRequiredService<KernelBackend.INeighbourTable>(), sp.GetRequiredService<TimeProvider>()));
        // Events: kept in the state directory, streamed by the admin endpoint, POSTed to the webhook.
        services.AddSingleton(sp => new Events.EventLog(settings.StateDirectory, sp.GetRequiredService<TimeProvider>()));
        if (settings.EventsWebhook is { } webhook)
        {
            services.AddSingleton(sp => new Events.WebhookSender(webhook, sp.GetRequiredService<Events.EventLog>(),
                sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Events.WebhookSender>>()));
            services.AddHostedService(sp => sp.GetRequiredService<Events.WebhookSender>());
        }

        // Devices: which may map ports (a permission set at run time, a rule, the default) and what they are called.
        services.AddSingleton(sp =>
        {
            var devices = new Devices.DeviceDirectory(settings.StateDirectory, settings.DevicesDefaultAllow, settings.DeviceRules,
                settings.DevicesLeaseFile, sp.GetRequiredService<TimeProvider>(), settings.OpenNatDevices);
            Events.EventLog events = sp.GetRequiredService<Events.EventLog>();
            devices.FirstSeen = (device, address) => events.Publish(new Events.GatewayEvent(0, default, "device-seen", device.MacText, address.ToString(),
                devices.NameOf(device, address)));
            if (devices.LoadError is { } error)
            {
                PortMapper.Gateway.Logging.Log.DevicePermissionsUnreadable(sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().CreateLogger("PortMapper.Gateway.Devices"), error);
            }

            return devices;
        });
        services.AddSingleton(sp => new Admission(
            options.LeaseTable,
            options.Policy,
            new KernelBackend.Netlink.SocketDiag(),
            () => sp.GetRequiredService<GatewayState>().Current.ExternalAddress,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Devices.DeviceDirectory>().Permits,
            sp.GetRequiredService<Devices.DeviceDirectory>().Seen));
        services.AddSingleton(sp => new NftablesBackend(options.Firewall, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IFirewallBackend>(sp => sp.GetRequiredService<NftablesBackend>());
        services.AddSingleton<IMediaFirewall>(sp => sp.GetRequiredService<NftablesBackend>());
        services.AddSingleton<IOpenNat>(sp => sp.GetRequiredService<NftablesBackend>());
        services.AddSingleton<ITrafficCounters>(sp => sp.GetRequiredService<NftablesBackend>());
        services.AddSingleton<Devices.OpenNatController>();

        // The reaper ends flows of ended leases (firewall.endFlows) and of the RTSP helper's media ports.
        bool observeRtsp = options.Firewall.ObservesRtsp;
        if (settings.EndFlows || observeRtsp)
        {
            services.AddSingleton<IFlowTable>(_ => new KernelBackend.Netlink.ConntrackTable());
            services.AddSingleton<FlowReaper>();
            services.AddHostedService(sp => sp.GetRequiredService<FlowReaper>());
        }

        // Double NAT: leases carried through to the upstream gateway's PCP or NAT-PMP server.
        services.AddSingleton<Upstream.UpstreamService>();

        // Start order matters: the engine restores leases and programs the kernel before anything listens.
        services.AddSingleton<MappingEngine>();
        services.AddHostedService(sp => sp.GetRequiredService<MappingEngine>());
        services.AddHostedService<KernelReconciler>();
        services.AddHostedService<WanMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<Upstream.UpstreamService>());
        if (settings.NatPmpEnabled || settings.PcpEnabled)
        {
            services.AddHostedService<PortControlService>();
        }

        if (observeRtsp)
        {
            services.AddSingleton<Rtsp.RtspHelperService>();
            services.AddHostedService(sp => sp.GetRequiredService<Rtsp.RtspHelperService>());
        }

        if (reload is not null)
        {
            services.AddSingleton(reload);
            services.AddHostedService<ReloadService>();
        }

        if (options.AdminEndpoint is not null)
        {
            services.AddHostedService<AdminService>();
            services.AddHostedService<Mdns.MdnsService>();
        }

        if (settings.UpnpEnabled)
        {
            services.AddSingleton<UpnpDevices>();
            services.AddSingleton<UpnpControl>();
            services.AddSingleton<GenaService>();
            services.AddHostedService(sp => sp.GetRequiredService<GenaService>());
            services.AddHostedService<UpnpHttpService>();
            services.AddHostedService<SsdpService>();
        }

        return builder.Build();
    }
}
