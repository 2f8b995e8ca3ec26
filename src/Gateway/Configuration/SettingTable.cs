using System.Text.Json;
using PortMapper.Gateway.Leases;
using PortMapper.KernelBackend;
using static PortMapper.Gateway.Configuration.ConfigFile;

namespace PortMapper.Gateway.Configuration;

/// <summary>
/// Every key of the configuration file, once: the reader (<see cref="ConfigFile"/>) and the reload
/// (<see cref="Hosting.ReloadService"/>) both work from this table, so a setting is added in one place (and its
/// typed property, with its default, in <see cref="GatewaySettings"/>). Reloadable settings are applied by SIGHUP
/// between two engine batches; the others need sockets or the kernel table rebuilt and wait for a restart.
/// </summary>
public static class SettingTable
{
    private const bool Reload = true;
    private const bool Restart = false;

    public static readonly IReadOnlyList<Setting> All =
    [
        new("wan", Restart, s => s.Wan, (v, p, s, e) => String(v, p, e) is { } x ? s with { Wan = x } : s),
        new("lan", Restart, s => s.Lan, (v, p, s, e) => s with { Lan = Array(v, p, e).Select((x, i) => String(x, $"{p}[{i}]", e)).OfType<string>().ToList() }),
        new("stateDir", Restart, s => s.StateDirectory, (v, p, s, e) => String(v, p, e) is { } x ? s with { StateDirectory = x } : s),
        new("logLevel", Reload, s => s.LogLevel, (v, p, s, e) => String(v, p, e) is { } x ? s with { LogLevel = x } : s),
        new("secureMode", Reload, s => s.SecureMode, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { SecureMode = x } : s),
        new("maxLifetime", Reload, s => s.MaxLifetimeSeconds, (v, p, s, e) => Integer(v, p, 60, int.MaxValue, e) is { } x ? s with { MaxLifetimeSeconds = (uint)x } : s),
        new("maxLeasesPerClient", Reload, s => s.MaxLeasesPerClient, (v, p, s, e) => Integer(v, p, 1, 65535, e) is { } x ? s with { MaxLeasesPerClient = (int)x } : s),
        new("maxLeases", Reload, s => s.MaxLeases, (v, p, s, e) => Integer(v, p, 1, 1_000_000, e) is { } x ? s with { MaxLeases = (int)x } : s),
        new("reservedPorts", Reload, s => s.ReservedPorts, (v, p, s, e) => s with { ReservedPorts = Array(v, p, e).Select((x, i) => Range(x, $"{p}[{i}]", e)).OfType<PortRange>().ToList() }),
        new("rules", Reload, s => s.Rules, (v, p, s, e) => s with { Rules = Array(v, p, e).Select((x, i) => Rule(x, $"{p}[{i}]", e)).OfType<PolicyRule>().ToList() }),

        new("firewall.mode", Restart, s => s.FirewallMode, (v, p, s, e) => String(v, p, e) switch
        {
            "standalone" => s with { FirewallMode = FirewallMode.Standalone },
            "integrate" => s with { FirewallMode = FirewallMode.Integrate },
            null => s,
            var other => Fail(s, e, $"{p}: '{other}' is not 'standalone' or 'integrate'"),
        }),
        new("firewall.table", Restart, s => s.TableName, (v, p, s, e) => String(v, p, e) is { } x && CheckTableName(x, p, e) ? s with { TableName = x } : s),
        new("firewall.mark", Restart, s => s.FirewallMark, (v, p, s, e) => Integer(v, p, 1, uint.MaxValue, e) is { } x ? s with { FirewallMark = (uint)x } : s),
        new("firewall.hairpin", Restart, s => s.Hairpin, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { Hairpin = x } : s),
        new("firewall.preservePorts", Restart, s => s.PreservePorts, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { PreservePorts = x } : s),
        new("firewall.endFlows", Restart, s => s.EndFlows, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { EndFlows = x } : s),

        new("natPmp.enabled", Restart, s => s.NatPmpEnabled, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { NatPmpEnabled = x } : s),
        new("pcp.enabled", Restart, s => s.PcpEnabled, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { PcpEnabled = x } : s),
        new("pcp.allowThirdParty", Reload, s => s.PcpAllowThirdParty, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { PcpAllowThirdParty = x } : s),
        new("pcp.maxFilters", Reload, s => s.PcpMaxFilters, (v, p, s, e) => Integer(v, p, 1, 64, e) is { } x ? s with { PcpMaxFilters = (int)x } : s),

        new("admin.mdns", Restart, s => s.AdminMdns, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { AdminMdns = x } : s),
        new("admin.listen", Restart, s => s.AdminListen, (v, p, s, e) => v.ValueKind == JsonValueKind.Null ? s with { AdminListen = null }
            : String(v, p, e) is { } x ? s with { AdminListen = x } : s),

        new("helpers.sip", Restart, s => s.SipHelper, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { SipHelper = x } : s),
        new("helpers.sipPorts", Restart, s => s.SipPorts, (v, p, s, e) => s with { SipPorts = Ports(v, p, e) }),
        new("helpers.sipTcp", Restart, s => s.SipTcp, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { SipTcp = x } : s),
        new("helpers.rtsp", Restart, s => s.RtspHelper, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { RtspHelper = x } : s),
        new("helpers.rtspPorts", Restart, s => s.RtspPorts, (v, p, s, e) => s with { RtspPorts = Ports(v, p, e) }),
        new("helpers.rtspLogGroup", Restart, s => s.RtspLogGroup, (v, p, s, e) => Integer(v, p, 1, 65535, e) is { } x ? s with { RtspLogGroup = (ushort)x } : s),

        new("upnp.enabled", Restart, s => s.UpnpEnabled, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { UpnpEnabled = x } : s),
        new("upnp.httpPort", Restart, s => s.UpnpHttpPort, (v, p, s, e) => Integer(v, p, 1, 65535, e) is { } x ? s with { UpnpHttpPort = (int)x } : s),
        new("upnp.notifyInterval", Restart, s => s.UpnpNotifyIntervalSeconds, (v, p, s, e) => Integer(v, p, 30, 86400, e) is { } x ? s with { UpnpNotifyIntervalSeconds = (int)x } : s),
        new("upnp.friendlyName", Restart, s => s.UpnpFriendlyName, (v, p, s, e) => String(v, p, e) is { } x ? s with { UpnpFriendlyName = x } : s),
        new("upnp.pinholes", Reload, s => s.UpnpPinholes, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { UpnpPinholes = x } : s),
        new("upnp.allowPermanent", Reload, s => s.UpnpAllowPermanent, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { UpnpAllowPermanent = x } : s),
        new("upnp.maxSubscriptions", Restart, s => s.UpnpMaxSubscriptions, (v, p, s, e) => Integer(v, p, 1, 65535, e) is { } x ? s with { UpnpMaxSubscriptions = (int)x } : s),
        new("upnp.maxSubscriptionsPerHost", Restart, s => s.UpnpMaxSubscriptionsPerHost, (v, p, s, e) => Integer(v, p, 1, 1024, e) is { } x ? s with { UpnpMaxSubscriptionsPerHost = (int)x } : s),
        new("upnp.maxConnectionsPerHost", Restart, s => s.UpnpMaxConnectionsPerHost, (v, p, s, e) => Integer(v, p, 1, 1024, e) is { } x ? s with { UpnpMaxConnectionsPerHost = (int)x } : s),

        new("devices.default", Reload, s => s.DevicesDefaultAllow ? "allow" : "deny", (v, p, s, e) => String(v, p, e) switch
        {
            "allow" => s with { DevicesDefaultAllow = true },
            "deny" => s with { DevicesDefaultAllow = false },
            null => s,
            var other => Fail(s, e, $"{p}: '{other}' is not 'allow' or 'deny'"),
        }),
        new("devices.rules", Reload, s => s.DeviceRules, (v, p, s, e) => s with { DeviceRules = Array(v, p, e).Select((x, i) => DeviceRuleOf(x, $"{p}[{i}]", e)).OfType<Devices.DeviceRule>().ToList() }),
        new("devices.leaseFile", Reload, s => s.DevicesLeaseFile, (v, p, s, e) => String(v, p, e) is { } x ? s with { DevicesLeaseFile = x } : s),

        new("openNat.devices", Reload, s => s.OpenNatDevices, (v, p, s, e) => s with { OpenNatDevices = Array(v, p, e).Select((x, i) => OpenNatDeviceOf(x, $"{p}[{i}]", e)).OfType<string>().ToList() }),
        new("openNat.idleTimeout", Restart, s => s.OpenNatIdleSeconds, (v, p, s, e) => Integer(v, p, 10, 86_400, e) is { } x ? s with { OpenNatIdleSeconds = (int)x } : s),
        new("openNat.maxMappings", Restart, s => s.OpenNatMaxMappings, (v, p, s, e) => Integer(v, p, 16, 65_536, e) is { } x ? s with { OpenNatMaxMappings = (int)x } : s),

        new("events.webhook", Restart, s => s.EventsWebhook, (v, p, s, e) => String(v, p, e) is { } x
            ? Uri.TryCreate(x, UriKind.Absolute, out Uri? url) && url.Scheme is "http" or "https" ? s with { EventsWebhook = url } : Fail(s, e, $"{p}: '{x}' is not an http or https URL")
            : s),

        new("upstream.mode", Restart, s => s.UpstreamMode.ToString().ToLowerInvariant(), (v, p, s, e) => String(v, p, e) switch
        {
            "auto" => s with { UpstreamMode = Upstream.UpstreamMode.Auto },
            "pcp" => s with { UpstreamMode = Upstream.UpstreamMode.Pcp },
            "natpmp" => s with { UpstreamMode = Upstream.UpstreamMode.NatPmp },
            "upnp" => s with { UpstreamMode = Upstream.UpstreamMode.Upnp },
            "off" => s with { UpstreamMode = Upstream.UpstreamMode.Off },
            null => s,
            var other => Fail(s, e, $"{p}: '{other}' is not 'auto', 'pcp', 'natpmp', 'upnp' or 'off'"),
        }),
        new("upstream.server", Restart, s => s.UpstreamServer?.ToString(), (v, p, s, e) => v.ValueKind == JsonValueKind.Null ? s with { UpstreamServer = null }
            : String(v, p, e) is { } x ? System.Net.IPAddress.TryParse(x, out System.Net.IPAddress? a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                ? s with { UpstreamServer = a } : Fail(s, e, $"{p}: '{x}' is not an IPv4 address") : s),
        new("upstream.dhcpLeases", Reload, s => s.UpstreamDhcpLeases, (v, p, s, e) => v.ValueKind == JsonValueKind.Null ? s with { UpstreamDhcpLeases = null }
            : s with { UpstreamDhcpLeases = Array(v, p, e).Select((x, i) => String(x, $"{p}[{i}]", e)).OfType<string>().ToList() }),
        new("upstream.required", Reload, s => s.UpstreamRequired, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { UpstreamRequired = x } : s),
        new("upstream.timeout", Reload, s => s.UpstreamTimeoutMilliseconds, (v, p, s, e) => Integer(v, p, 250, 60_000, e) is { } x ? s with { UpstreamTimeoutMilliseconds = (int)x } : s),

        new("rateLimit.perSecond", Reload, s => s.RateLimitPerSecond, (v, p, s, e) => Number(v, p, e) is { } x ? s with { RateLimitPerSecond = x } : s),
        new("rateLimit.burst", Reload, s => s.RateLimitBurst, (v, p, s, e) => Integer(v, p, 1, 1_000_000, e) is { } x ? s with { RateLimitBurst = (int)x } : s),

        new("persistence.fsync", Restart, s => s.Fsync, (v, p, s, e) => Bool(v, p, e) is { } x ? s with { Fsync = x } : s),
    ];

    private static readonly Dictionary<string, Setting> s_byKey = All.ToDictionary(s => s.Key, StringComparer.Ordinal);

    private static readonly HashSet<string> s_sections = [.. All.Where(s => s.Key.Contains('.', StringComparison.Ordinal)).Select(s => s.Key[..s.Key.IndexOf('.', StringComparison.Ordinal)])];

    public static Setting? Find(string key) => s_byKey.GetValueOrDefault(key);

    /// <summary>Whether a top-level key is a section ("firewall", "upnp", ...) whose keys are settings of their own.</summary>
    public static bool IsSection(string name) => s_sections.Contains(name);
}
