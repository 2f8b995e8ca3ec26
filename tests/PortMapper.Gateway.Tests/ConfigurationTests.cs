using System.Net;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Network;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Tests;

public class ConfigurationTests
{
    private sealed class FakeInventory : INetworkInventory
    {
        public IReadOnlyList<NetworkInterfaceInfo> Interfaces() =>
        [
            new("lo", 1, true, true, [new(IPAddress.Loopback, 8)]),
            new("wan0", 2, true, false, [new(IPAddress.Parse("203.0.113.1"), 24)]),
            new("br-lan", 3, true, false, [new(IPAddress.Parse("192.168.77.1"), 24), new(IPAddress.Parse("2001:db8:77::1"), 64)]),
            new("guest", 4, true, false, [new(IPAddress.Parse("192.168.88.1"), 24)]),
            new("down0", 5, false, false, [new(IPAddress.Parse("10.9.9.9"), 8)]),
        ];

        public string? DefaultRouteInterface() => "wan0";
    }

    private static GatewayOptions? Resolve(string json, List<string> errors) =>
        GatewayConfiguration.Resolve(ConfigFile.Read(json, new GatewaySettings(), errors), new FakeInventory(), errors);

    [Fact]
    public void Resolve_NoConfig_WanFromDefaultRouteAndLanFromTheOthers()
    {
        var errors = new List<string>();
        GatewayOptions? options = Resolve("{}", errors);
        Assert.Empty(errors);
        Assert.NotNull(options);
        Assert.Equal("wan0", options.WanInterface);
        Assert.Equal(["br-lan", "guest"], options.LanInterfaces.Select(l => l.Name));
        Assert.True(options.Policy.Permits(5000, IPAddress.Parse("192.168.88.20"), 5000));
        Assert.False(options.Policy.Permits(5000, IPAddress.Parse("10.9.9.10"), 5000));
        Assert.Contains((ushort)5351, options.ReservedPorts);
    }

    [Fact]
    public void Read_ManyMistakes_ReportsEveryOneAtOnce()
    {
        var errors = new List<string>();
        GatewayOptions? options = Resolve("""
            {
              "wan": "eth9",
              "lan": ["br-lan", "nope0"],
              "maxLifetime": -5,
              "colour": "blue",
              "firewall": { "mode": "paranoid", "tabel": "x" },
              "rules": [
                { "action": "allow", "externalPorts": "2000-1000", "internalAddress": "192.168.77.0/33" },
                { "action": "maybe" }
              ],
              "rateLimit": { "perSecond": 0 }
            }
            """, errors);
        Assert.Null(options);
        string all = string.Join("\n", errors);
        Assert.Contains("wan: interface 'eth9' does not exist", all, StringComparison.Ordinal);
        Assert.Contains("lan: interface 'nope0' does not exist", all, StringComparison.Ordinal);
        Assert.Contains("maxLifetime:", all, StringComparison.Ordinal);
        Assert.Contains("colour: unknown key", all, StringComparison.Ordinal);
        Assert.Contains("firewall.mode: 'paranoid'", all, StringComparison.Ordinal);
        Assert.Contains("firewall.tabel: unknown key", all, StringComparison.Ordinal);
        Assert.Contains("rules[0].externalPorts: port range '2000-1000' is reversed", all, StringComparison.Ordinal);
        Assert.Contains("rules[0].internalAddress:", all, StringComparison.Ordinal);
        Assert.Contains("rules[1].action: 'maybe'", all, StringComparison.Ordinal);
        Assert.Contains("rateLimit.perSecond:", all, StringComparison.Ordinal);
        Assert.Equal(10, errors.Count);
    }

    [Theory]
    [InlineData("192.168.77.1/24")]
    [InlineData("10.0.0.1/8")]
    [InlineData("2001:db8::1/64")]
    public void Read_PrefixWithHostBits_Rejected(string prefix)
    {
        var errors = new List<string>();
        ConfigFile.Read($$"""{ "rules": [ { "action": "allow", "internalAddress": "{{prefix}}" } ] }""", new GatewaySettings(), errors);
        Assert.Contains("host bits must be zero", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NotJson_OneClearError()
    {
        var errors = new List<string>();
        ConfigFile.Read("{ wan: ", new GatewaySettings(), errors);
        Assert.StartsWith("config: not valid JSON", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:8470", true)]
    [InlineData("192.168.77.1:8470", true)]
    [InlineData("[::1]:8470", true)]
    [InlineData("203.0.113.1:8470", false)] // the WAN address
    [InlineData("0.0.0.0:8470", false)] // would include the WAN
    [InlineData("10.9.9.9:8470", false)]
    [InlineData("127.0.0.1", false)]
    [InlineData("localhost:8470", false)]
    public void Resolve_AdminEndpoint_LoopbackOrLanOnly(string listen, bool ok)
    {
        var errors = new List<string>();
        GatewayOptions? options = GatewayConfiguration.Resolve(new GatewaySettings { AdminListen = listen }, new FakeInventory(), errors);
        Assert.Equal(ok, options is not null);
        if (ok)
        {
            Assert.Equal(listen, options!.AdminEndpoint!.ToString());
        }
        else
        {
            Assert.StartsWith("admin: ", Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Read_AdminListenNull_TurnsTheEndpointOff()
    {
        var errors = new List<string>();
        GatewayOptions? options = Resolve("""{ "admin": { "listen": null } }""", errors);
        Assert.Empty(errors);
        Assert.Null(options!.AdminEndpoint);
    }

    [Fact]
    public void SettingTable_EveryKeyIsReadAndChecked_UnknownKeysAreNamed()
    {
        foreach (Setting setting in SettingTable.All)
        {
            // A value of the wrong kind (an object, for every setting) is an error that names the key.
            string[] parts = setting.Key.Split('.');
            string json = parts.Length == 1 ? $$"""{ "{{parts[0]}}": { "x": 1 } }""" : $$"""{ "{{parts[0]}}": { "{{parts[1]}}": { "x": 1 } } }""";
            var errors = new List<string>();
            ConfigFile.Read(json, new GatewaySettings(), errors);
            Assert.Contains(errors, e => e.StartsWith(setting.Key, StringComparison.Ordinal));
        }

        var unknown = new List<string>();
        ConfigFile.Read("""{ "firewall": { "tabel": "x" }, "colour": 1 }""", new GatewaySettings(), unknown);
        Assert.Equal(["firewall.tabel: unknown key", "colour: unknown key"], unknown);
        Assert.Equal(SettingTable.All.Count, SettingTable.All.Select(s => s.Key).Distinct().Count());
    }

    [Fact]
    public void Reload_EveryReloadableSettingApplies_NoneNeedsARestart()
    {
        var errors = new List<string>();
        GatewayOptions running = Resolve("{}", errors)!;
        GatewayOptions changed = Resolve("""
            { "logLevel": "debug", "secureMode": false, "maxLifetime": 600, "maxLeasesPerClient": 5, "maxLeases": 50,
              "reservedPorts": [ 7000 ], "rules": [ { "action": "deny" } ], "pcp": { "allowThirdParty": true, "maxFilters": 2 },
              "upnp": { "pinholes": false, "allowPermanent": false }, "rateLimit": { "perSecond": 5, "burst": 3 },
              "devices": { "default": "deny", "rules": [ { "device": "aa:bb:cc:dd:ee:01", "permission": "allow" } ], "leaseFile": "/var/lib/misc/dnsmasq.leases" },
              "openNat": { "devices": [ "aa:bb:cc:dd:ee:02" ] }, "upstream": { "required": false, "timeout": 1000, "dhcpLeases": [ "/run/wan0.lease" ] } }
            """, errors)!;
        Assert.Empty(errors);
        Assert.Empty(Hosting.ReloadService.NeedsRestart(running, changed));
        Assert.All(SettingTable.All.Where(s => s.Reloadable), s => Assert.False(s.Same(running.Settings, changed.Settings), s.Key));
    }

    [Fact]
    public void Read_DevicesSection_RulesByMacAddressOrPrefix_AndMistakesNamed()
    {
        var errors = new List<string>();
        GatewaySettings s = ConfigFile.Read("""
            { "devices": { "default": "deny", "leaseFile": "/tmp/dhcp.leases", "rules": [
                { "device": "AA-BB-CC-DD-EE-01", "permission": "allow" },
                { "device": "192.168.77.0/24", "permission": "deny" },
                { "device": "fd00::5", "permission": "allow" } ] } }
            """, new GatewaySettings(), errors);
        Assert.Empty(errors);
        Assert.False(s.DevicesDefaultAllow);
        Assert.Equal("/tmp/dhcp.leases", s.DevicesLeaseFile);
        Assert.Equal(0xAABBCCDDEE01UL, s.DeviceRules[0].Mac);
        Assert.Equal(IPNetwork.Parse("192.168.77.0/24"), s.DeviceRules[1].Network);
        Assert.Equal((IPNetwork.Parse("fd00::5/128"), true), (s.DeviceRules[2].Network!.Value, s.DeviceRules[2].Allow));

        ConfigFile.Read("""
            { "devices": { "default": "maybe", "rules": [ { "device": "laptop", "permission": "allow" }, { "device": "aa:bb:cc:dd:ee:ff" },
                                                         { "device": "10.0.0.1", "permission": "yes", "colour": 1 } ] } }
            """, new GatewaySettings(), errors);
        Assert.Equal(
            ["devices.default: 'maybe' is not 'allow' or 'deny'", "devices.rules[0].device: 'laptop' is not a MAC address, an IP address or a prefix",
             "devices.rules[1]: needs \"device\" and \"permission\"", "devices.rules[2].permission: 'yes' is not 'allow' or 'deny'", "devices.rules[2].colour: unknown key"],
            errors);
    }

    [Fact]
    public void OpenNat_DevicesByMacOrIPv4_IdleTimeoutAndSize()
    {
        var errors = new List<string>();
        GatewaySettings s = ConfigFile.Read("""
            { "openNat": { "devices": [ "AA-BB-CC-DD-EE-01", "192.168.77.20" ], "idleTimeout": 180, "maxMappings": 2048 } }
            """, new GatewaySettings(), errors);
        Assert.Empty(errors);
        Assert.Equal(["aa:bb:cc:dd:ee:01", "192.168.77.20"], s.OpenNatDevices);
        Assert.Equal((180, 2048), (s.OpenNatIdleSeconds, s.OpenNatMaxMappings));
        Assert.Equal((300, 8192), (new GatewaySettings().OpenNatIdleSeconds, new GatewaySettings().OpenNatMaxMappings));

        ConfigFile.Read("""{ "openNat": { "devices": [ "fd00::5", "console" ], "idleTimeout": 5, "maxMappings": 100000 } }""", new GatewaySettings(), errors);
        Assert.Equal(4, errors.Count);
        Assert.Contains("openNat.devices[0]: 'fd00::5' is neither a MAC address nor an IPv4 address", errors);
        Assert.Contains("openNat.devices[1]: 'console' is neither a MAC address nor an IPv4 address", errors);
        Assert.Contains(errors, e => e.StartsWith("openNat.idleTimeout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("openNat.maxMappings", StringComparison.Ordinal));
    }

    [Fact]
    public void Reload_NamesOnlyTheChangesThatNeedARestart()
    {
        var errors = new List<string>();
        GatewayOptions running = Resolve("{}", errors)!;
        GatewayOptions policyOnly = Resolve("""{ "secureMode": false, "maxLeasesPerClient": 5, "rules": [ { "action": "deny" } ], "rateLimit": { "burst": 3 } }""", errors)!;
        GatewayOptions sockets = Resolve("""{ "lan": ["guest"], "firewall": { "mode": "integrate" }, "upnp": { "httpPort": 5001 }, "admin": { "listen": "127.0.0.1:9000" } }""", errors)!;
        Assert.Empty(errors);
        Assert.Empty(Hosting.ReloadService.NeedsRestart(running, policyOnly));
        Assert.Equal(["lan", "firewall.mode", "admin.listen", "upnp.httpPort"], Hosting.ReloadService.NeedsRestart(running, sockets));
    }

    [Fact]
    public void Read_UpnpSection_AppliesEveryKeyAndRejectsMistakes()
    {
        var errors = new List<string>();
        GatewaySettings s = ConfigFile.Read("""
            { "upnp": { "enabled": false, "httpPort": 2189, "notifyInterval": 120, "friendlyName": "Attic router", "pinholes": false,
                        "allowPermanent": false, "maxSubscriptions": 10, "maxSubscriptionsPerHost": 2, "maxConnectionsPerHost": 3 } }
            """, new GatewaySettings(), errors);
        Assert.Empty(errors);
        Assert.Equal((false, 2189, 120, "Attic router", false, false, 10, 2, 3),
            (s.UpnpEnabled, s.UpnpHttpPort, s.UpnpNotifyIntervalSeconds, s.UpnpFriendlyName, s.UpnpPinholes, s.UpnpAllowPermanent,
             s.UpnpMaxSubscriptions, s.UpnpMaxSubscriptionsPerHost, s.UpnpMaxConnectionsPerHost));

        ConfigFile.Read("""{ "upnp": { "httpPort": 70000, "notifyInterval": 1, "colour": 1 } }""", new GatewaySettings(), errors);
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("upnp.httpPort:", StringComparison.Ordinal));
        Assert.Contains("upnp.colour: unknown key", errors);
    }

    [Fact]
    public void Read_FullValidFile_AppliesEveryKey()
    {
        var errors = new List<string>();
        GatewayOptions? options = Resolve("""
            {
              // comments are allowed
              "wan": "wan0", "lan": ["br-lan"], "stateDir": "/tmp/pm", "logLevel": "debug",
              "firewall": { "mode": "integrate", "table": "pm_test", "mark": 32 },
              "pcp": { "enabled": false, "allowThirdParty": true, "maxFilters": 4 },
              "natPmp": { "enabled": false }, "secureMode": false, "maxLifetime": 3600, "maxLeasesPerClient": 4,
              "rateLimit": { "perSecond": 5.5, "burst": 9 }, "persistence": { "fsync": false },
              "reservedPorts": [22, "8000-8010"],
              "rules": [ { "action": "deny", "externalPorts": "6000-6999" }, { "action": "allow", "internalAddress": "192.168.77.0/24" } ],
            }
            """, errors);
        Assert.Empty(errors);
        Assert.NotNull(options);
        GatewaySettings s = options.Settings;
        Assert.Equal((FirewallMode.Integrate, "pm_test", false, false, 3600u, 4, 5.5, 9, false, "/tmp/pm"),
            (s.FirewallMode, s.TableName, s.NatPmpEnabled, s.SecureMode, s.MaxLifetimeSeconds, s.MaxLeasesPerClient, s.RateLimitPerSecond, s.RateLimitBurst, s.Fsync, s.StateDirectory));
        Assert.Equal((32u, false, true, 4), (s.FirewallMark, s.PcpEnabled, s.PcpAllowThirdParty, s.PcpMaxFilters));
        Assert.Equal(32u, options.Firewall.Mark);
        Assert.Contains((ushort)8005, options.ReservedPorts);
        Assert.Contains((ushort)22, options.ReservedPorts);
        Assert.False(options.Policy.Permits(6500, IPAddress.Parse("192.168.77.5"), 6500));
        Assert.True(options.Policy.Permits(80, IPAddress.Parse("192.168.77.5"), 80));
    }

    [Fact]
    public void Resolve_WanGivenAsLan_Error()
    {
        var errors = new List<string>();
        Assert.Null(Resolve("""{ "lan": ["wan0"] }""", errors));
        Assert.Contains("lan: 'wan0' is the WAN interface", errors);
    }

    [Theory]
    [InlineData("10.0.0.1", "private")]
    [InlineData("100.64.1.1", "shared address space (carrier-grade NAT)")]
    [InlineData("203.0.113.1", "documentation (TEST-NET-3)")]
    [InlineData("8.8.8.8", null)]
    public void AddressClassifier_ReservedRanges(string address, string? kind)
    {
        Assert.Equal(kind, AddressClassifier.ReservedKind(IPAddress.Parse(address)));
    }

    [Fact]
    public void Helpers_Rtsp_DefaultsToTheDaemonsOwnOnPort554_OrTheKernelsWhereItHasOne()
    {
        var errors = new List<string>();
        GatewayOptions options = Resolve("{}", errors)!;
        Assert.Equal(RtspHelperMode.Observer, options.Firewall.Rtsp);
        Assert.Equal([(ushort)554], options.Firewall.RtspPorts);
        Assert.Equal(FirewallOptions.DefaultRtspLogGroup, options.Firewall.RtspLogGroup);
        Assert.True(options.Firewall.ObservesRtsp);
        Assert.Equal(RtspHelperMode.Kernel, (options with { KernelHasRtspHelper = true }).Firewall.Rtsp);
    }

    [Fact]
    public void Helpers_Rtsp_CanBeTurnedOffOrMoved()
    {
        var errors = new List<string>();
        Assert.Equal(RtspHelperMode.Off, Resolve("""{ "helpers": { "rtsp": false } }""", errors)!.Firewall.Rtsp);
        Assert.Equal(RtspHelperMode.Off, Resolve("""{ "helpers": { "rtspPorts": [] } }""", errors)!.Firewall.Rtsp);
        FirewallOptions moved = Resolve("""{ "helpers": { "rtspPorts": [554, 8554], "rtspLogGroup": 7 } }""", errors)!.Firewall;
        Assert.Empty(errors);
        Assert.Equal([(ushort)554, (ushort)8554], moved.RtspPorts);
        Assert.Equal(7, moved.RtspLogGroup);
    }

    [Fact]
    public void Helpers_Rtsp_BadValues_AreReported()
    {
        var errors = new List<string>();
        Assert.Null(Resolve("""{ "helpers": { "rtsp": "yes", "rtspPorts": [0, 70000], "rtspLogGroup": 0 } }""", errors));
        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("helpers.rtsp:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("helpers.rtspPorts[1]:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("helpers.rtspLogGroup:", StringComparison.Ordinal));
    }
}
