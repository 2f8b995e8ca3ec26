using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Hosting;
using PortMapper.Gateway.Network;
using PortMapper.KernelBackend;
using PortMapper.KernelBackend.Nftables;

namespace PortMapper.Gateway;

public static class Program
{
    /// <summary>Exit code for a configuration that does not validate.</summary>
    public const int BadConfiguration = 2;

    public static async Task<int> Main(string[] args)
    {
        KernelBackend.Native.NativeMemory.UseOneArena();
        var wan = new Option<string?>("--wan") { Description = "WAN interface (default: the interface of the default route)" };
        var lan = new Option<string[]>("--lan") { Description = "LAN interface; repeat for several (default: every other interface that is up with an IPv4 address)" };
        var config = new Option<string?>("--config") { Description = "JSON configuration file (optional)" };
        var stateDir = new Option<string?>("--state-dir") { Description = "Where leases are kept (default /var/lib/portmapper)" };
        var logLevel = new Option<string?>("--log-level") { Description = "verbose, debug, information, warning or error" };
        var admin = new Option<string?>("--admin") { Description = "Admin endpoint ADDR:PORT, loopback or a LAN address (default 127.0.0.1:8470)" };
        var run = new Command("run", "Run the gateway") { wan, lan, config, stateDir, logLevel, admin };
        run.SetAction((parse, cancellationToken) =>
        {
            // A reload (SIGHUP) reads the same file with the same flags over it.
            (GatewaySettings, List<string>) Read() =>
                ReadSettings(parse.GetValue(config), parse.GetValue(wan), parse.GetValue(lan), parse.GetValue(stateDir), parse.GetValue(logLevel), parse.GetValue(admin));
            return RunAsync(Read(), new SettingsSource(Read), cancellationToken);
        });

        var file = new Argument<string>("file") { Description = "The JSON configuration file to check" };
        var checkConfig = new Command("check-config", "Validate a configuration file against this machine and exit") { file };
        checkConfig.SetAction(parse => CheckConfig(parse.GetValue(file)!));

        var snippetConfig = new Option<string?>("--config") { Description = "JSON configuration file (for firewall.mark)" };
        var snippet = new Command("firewall-snippet", "Print the rule a host firewall's forward chain needs in 'integrate' mode") { snippetConfig };
        snippet.SetAction(parse =>
        {
            var (settings, errors) = ReadSettings(parse.GetValue(snippetConfig), null, null, null, null);
            if (errors.Count > 0)
            {
                ReportAsync(errors).GetAwaiter().GetResult();
                return BadConfiguration;
            }

            Console.WriteLine(NftablesRuleset.IntegrateSnippet(settings.FirewallMark));
            return 0;
        });

        var selftestVerbose = new Option<bool>("--verbose") { Description = "Name every case, not only the failures" };
        var selftest = new Command("selftest", "Run the NAT-PMP, PCP, SSDP and SOAP paths on built-in requests (no network, no kernel) and exit") { selftestVerbose };
        selftest.SetAction(parse => SelfTest.ProtocolSelfTest.Run(Console.Out, parse.GetValue(selftestVerbose)));

        var root = new RootCommand("PortMapper: a NAT-PMP, PCP and UPnP IGD port-mapping gateway for Linux and nftables")
        {
            run,
            checkConfig,
            snippet,
            selftest,
        };
        var miniupnpdConfig = new Argument<string>("file") { Description = "miniupnpd.conf" };
        var miniupnpdLeases = new Argument<string?>("leasefile") { Description = "Its lease file (default: lease_file from the configuration)", Arity = ArgumentArity.ZeroOrOne };
        var importOutput = new Option<string?>("--output") { Description = "Write the converted configuration here instead of to stdout" };
        var importState = new Option<string?>("--state-dir") { Description = "Import the leases into this state directory (stop the daemon first)" };
        var import = new Command("import-miniupnpd", "Convert a miniupnpd installation: interfaces, ports, permission rules and leases")
        {
            miniupnpdConfig, miniupnpdLeases, importOutput, importState,
        };
        import.SetAction(parse => Import.ImportCommand.Run(parse.GetValue(miniupnpdConfig)!, parse.GetValue(miniupnpdLeases), parse.GetValue(importOutput),
            parse.GetValue(importState), Console.Out, Console.Error));
        root.Subcommands.Add(import);

        foreach (Command command in AdminCommands())
        {
            root.Subcommands.Add(command);
        }
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
            }

            return BadConfiguration;
        }

        return await parsed.InvokeAsync().ConfigureAwait(false);
    }

    /// <summary>leases, revoke and status: clients of a running daemon's admin endpoint.</summary>
    private static IEnumerable<Command> AdminCommands()
    {
        var endpoint = new Option<string>("--admin") { Description = "The daemon's admin endpoint", DefaultValueFactory = _ => "127.0.0.1:8470" };
        var stateDir = new Option<string>("--state-dir") { Description = "The daemon's state directory, where admin.token is", DefaultValueFactory = _ => new GatewaySettings().StateDirectory };
        var tokenFile = new Option<string?>("--token-file") { Description = "Read the token from this file instead" };

        AdminClient? Connect(ParseResult parse)
        {
            string path = parse.GetValue(tokenFile) ?? Path.Combine(parse.GetValue(stateDir)!, AdminToken.FileName);
            if (AdminToken.TryRead(path) is not { Length: > 0 } token)
            {
                Console.Error.WriteLine($"error: cannot read the admin token from {path} (run as root, or give --token-file)");
                return null;
            }

            return new AdminClient(parse.GetValue(endpoint)!, token);
        }

        async Task<int> CallAsync(ParseResult parse, Func<AdminClient, Task<int>> call)
        {
            using AdminClient? client = Connect(parse);
            if (client is null)
            {
                return 1;
            }

            try
            {
                return await call(client).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                await Console.Error.WriteLineAsync($"error: cannot reach the admin endpoint at {parse.GetValue(endpoint)}: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        }

        var protocol = new Option<string?>("--protocol") { Description = "Only tcp or udp" };
        var client = new Option<string?>("--client") { Description = "Only this client address" };
        var port = new Option<int?>("--port") { Description = "Only this external or internal port" };
        var leases = new Command("leases", "List the leases of the running daemon") { endpoint, stateDir, tokenFile, protocol, client, port };
        leases.SetAction((parse, _) =>
        {
            var filters = new List<string>();
            if (parse.GetValue(protocol) is { } p)
            {
                filters.Add("protocol=" + Uri.EscapeDataString(p));
            }

            if (parse.GetValue(client) is { } c)
            {
                filters.Add("client=" + Uri.EscapeDataString(c));
            }

            if (parse.GetValue(port) is { } n)
            {
                filters.Add("port=" + n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            string query = filters.Count == 0 ? string.Empty : "?" + string.Join('&', filters);
            return CallAsync(parse, c => c.LeasesAsync(Console.Out, query));
        });

        var id = new Argument<long>("id") { Description = "The lease id (from 'portmapper leases')" };
        var revoke = new Command("revoke", "Revoke a lease: it is gone from the kernel at once") { endpoint, stateDir, tokenFile, id };
        revoke.SetAction((parse, _) => CallAsync(parse, c => c.RevokeAsync(Console.Out, parse.GetValue(id))));

        var status = new Command("status", "Show the running daemon's status") { endpoint, stateDir, tokenFile };
        status.SetAction((parse, _) => CallAsync(parse, c => c.StatusAsync(Console.Out)));

        var devices = new Command("devices", "List the devices that asked for or hold mappings, with their permission") { endpoint, stateDir, tokenFile };
        devices.SetAction((parse, _) => CallAsync(parse, c => c.DevicesAsync(Console.Out)));
        var device = new Argument<string>("device") { Description = "The device's MAC address (or its IP address, for a device known by address)" };
        var allow = new Command("allow", "Let a device map ports again") { endpoint, stateDir, tokenFile, device };
        allow.SetAction((parse, _) => CallAsync(parse, c => c.SetDeviceAsync(Console.Out, parse.GetValue(device)!, allow: true)));
        var deny = new Command("deny", "Stop a device mapping ports: its leases are revoked at once") { endpoint, stateDir, tokenFile, device };
        deny.SetAction((parse, _) => CallAsync(parse, c => c.SetDeviceAsync(Console.Out, parse.GetValue(device)!, allow: false)));
        var state = new Argument<string>("state") { Description = "on or off" };
        state.AcceptOnlyFromAmong("on", "off");
        var openNat = new Command("opennat", "Turn Open NAT (endpoint-independent UDP mapping and filtering, for consoles) on or off for a device") { endpoint, stateDir, tokenFile, device, state };
        openNat.SetAction((parse, _) => CallAsync(parse, c => c.SetOpenNatAsync(Console.Out, parse.GetValue(device)!, parse.GetValue(state) == "on")));
        devices.Subcommands.Add(allow);
        devices.Subcommands.Add(deny);
        devices.Subcommands.Add(openNat);
        var follow = new Option<bool>("--follow") { Description = "Keep printing events as they happen" };
        var since = new Option<long>("--since") { Description = "Only events after this id" };
        var events = new Command("events", "Print the gateway's events (mappings granted, renewed, refused, expired, revoked; devices)") { endpoint, stateDir, tokenFile, follow, since };
        events.SetAction((parse, cancellationToken) => CallAsync(parse, c => c.EventsAsync(Console.Out, parse.GetValue(since), parse.GetValue(follow), cancellationToken)));
        return [leases, revoke, status, devices, events];
    }

    private static (GatewaySettings Settings, List<string> Errors) ReadSettings(string? configPath, string? wan, string[]? lan, string? stateDir, string? logLevel, string? admin = null)
    {
        var errors = new List<string>();
        var settings = new GatewaySettings();
        if (configPath is not null)
        {
            try
            {
                settings = ConfigFile.Read(File.ReadAllText(configPath), settings, errors);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"config: cannot read '{configPath}': {e.Message}");
            }
        }

        // Flags override the file, which overrides the embedded defaults.
        settings = settings with
        {
            Wan = wan ?? settings.Wan,
            Lan = lan is { Length: > 0 } ? lan : settings.Lan,
            StateDirectory = stateDir ?? settings.StateDirectory,
            LogLevel = logLevel ?? settings.LogLevel,
            AdminListen = admin ?? settings.AdminListen,
        };
        return (settings, errors);
    }

    private static async Task<int> RunAsync((GatewaySettings Settings, List<string> Errors) input, SettingsSource reload, CancellationToken cancellationToken)
    {
        // Before anything of this run commits to nftables (the helper probe below does): is the ruleset as the last run left it?
        uint? generation = KernelBackend.Netlink.NftablesGeneration.Read();
        var inventory = new SystemNetworkInventory();
        GatewayOptions? options = GatewayConfiguration.Resolve(input.Settings, inventory, input.Errors);
        if (options is null || input.Errors.Count > 0)
        {
            await ReportAsync(input.Errors).ConfigureAwait(false);
            return BadConfiguration;
        }

        options = options with { KernelGenerationAtStart = generation };
        if (options.Settings.RtspHelper)
        {
            options = options with { KernelHasRtspHelper = KernelBackend.Nftables.NftablesBackend.KernelHasHelper("rtsp") };
        }

        await using Serilog.Core.Logger logger = Hosting.Logging.Create(options.Settings.LogLevel);
        try
        {
            if (options.RtspHelper == KernelBackend.RtspHelperMode.Kernel)
            {
                logger.Information("RTSP helper: the kernel's rtsp conntrack helper on control ports {Ports}", string.Join(", ", options.Settings.RtspPorts));
            }

            using IHost host = GatewayHost.Build(options, inventory, logger, reload);
            List<BackgroundService> services = [.. host.Services.GetServices<IHostedService>().OfType<BackgroundService>()];
            host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(
                () => logger.Information("Ready: all listeners are up"));
            await host.RunAsync(cancellationToken).ConfigureAwait(false); // disposes the host

            // A listener that failed (its port taken, say) stopped the host: that is a failure, not a clean stop.
            return services.Any(s => s.ExecuteTask is { IsFaulted: true }) ? 1 : 0;
        }
        catch (Exception e) when (e is FirewallException or DllNotFoundException or IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
        {
            logger.Fatal(e, "Cannot start: {Reason}", e.Message);
            return 1;
        }
    }

    private static int CheckConfig(string path)
    {
        var (settings, errors) = ReadSettings(path, null, null, null, null);
        GatewayOptions? options = GatewayConfiguration.Resolve(settings, new SystemNetworkInventory(), errors);
        if (options is null || errors.Count > 0)
        {
            ReportAsync(errors).GetAwaiter().GetResult();
            return BadConfiguration;
        }

        Console.WriteLine($"{path}: valid. WAN {options.WanInterface}; LAN {string.Join(", ", options.LanInterfaces.Select(l => l.Name))}; {options.Policy.Rules.Count} policy rules");
        Console.WriteLine($"devices: default {(settings.DevicesDefaultAllow ? "allow" : "deny")}, {settings.DeviceRules.Count} rule(s); Open NAT: {(settings.OpenNatDevices.Count == 0 ? "none" : string.Join(", ", settings.OpenNatDevices))} (idle {settings.OpenNatIdleSeconds} s); events webhook: {settings.EventsWebhook?.ToString() ?? "none"}");
        return 0;
    }

    private static async Task ReportAsync(List<string> errors)
    {
        await Console.Error.WriteLineAsync($"portmapper: the configuration has {errors.Count} error(s):").ConfigureAwait(false);
        foreach (string error in errors)
        {
            await Console.Error.WriteLineAsync($"  error: {error}").ConfigureAwait(false);
        }
    }
}
