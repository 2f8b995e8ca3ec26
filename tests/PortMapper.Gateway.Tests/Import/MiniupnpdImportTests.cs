using System.Net;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Import;
using PortMapper.Gateway.Persistence;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests.Import;

/// <summary>A miniupnpd 2.3 installation as OpenWrt writes it, converted.</summary>
public sealed class MiniupnpdImportTests : IDisposable
{
    private const string Config = """
        # miniupnpd configuration
        ext_ifname=wan0
        listening_ip=br-lan
        listening_ip=192.168.88.1/24
        listening_ip=10.1.2.3
        port=5000
        enable_natpmp=yes
        enable_upnp=yes
        secure_mode=yes
        max_lifetime=7200
        notify_interval=60
        friendly_name="Home router"
        lease_file=/var/run/miniupnpd.leases
        upnp_forward_chain=miniupnpd
        uuid=fc4ec57e-b051-11db-88f8-0060085db3f6
        bitrate_up=1000000
        this line is junk
        allow 1024-65535 192.168.77.0/24 1024-65535
        allow 6000-6100 192.168.88.1/255.255.255.0 22 ^ssh
        deny 0-65535 0.0.0.0/0 0-65535
        deny 80 10.0.0.0/255.0.255.0 80
        """;

    private static readonly DateTimeOffset s_now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    private static MiniupnpdImport Read()
    {
        var import = new MiniupnpdImport();
        import.ReadConfig(Config, a => a.Equals(IPAddress.Parse("192.168.88.1")) ? "guest" : null);
        return import;
    }

    [Fact]
    public void Config_ConvertsInterfacesPortsSwitchesAndRules()
    {
        MiniupnpdImport import = Read();
        var errors = new List<string>();
        GatewaySettings s = ConfigFile.Read(import.ConfigJson(), new GatewaySettings(), errors);
        Assert.Empty(errors);
        Assert.Equal("wan0", s.Wan);
        Assert.Equal(["br-lan", "guest"], s.Lan);
        Assert.Equal((5000, true, true, true, true, 7200u, 60, "Home router"),
            (s.UpnpHttpPort, s.UpnpEnabled, s.NatPmpEnabled, s.PcpEnabled, s.SecureMode, s.MaxLifetimeSeconds, s.UpnpNotifyIntervalSeconds, s.UpnpFriendlyName));
        Assert.Equal("/var/run/miniupnpd.leases", import.LeaseFile);

        // Rules in order, host bits dropped, dotted masks read, and miniupnpd's "accept what nothing matches" made explicit.
        Assert.NotNull(s.Rules);
        Assert.Equal(4, s.Rules!.Count);
        Assert.Equal((true, "192.168.77.0/24", 1024, 65535), (s.Rules[0].Allow, s.Rules[0].InternalNetwork.ToString(), (int)s.Rules[0].ExternalPorts.Low, (int)s.Rules[0].ExternalPorts.High));
        Assert.Equal(("192.168.88.0/24", 22), (s.Rules[1].InternalNetwork.ToString(), (int)s.Rules[1].InternalPorts.Low));
        Assert.False(s.Rules[2].Allow);
        Assert.Equal((true, "0.0.0.0/0"), (s.Rules[3].Allow, s.Rules[3].InternalNetwork.ToString()));
    }

    [Fact]
    public void Config_SaysWhatItCouldNotConvert()
    {
        string all = string.Join("\n", Read().NotConverted);
        Assert.Contains("listening_ip=10.1.2.3: no interface here has 10.1.2.3", all, StringComparison.Ordinal);
        Assert.Contains("upnp_forward_chain: the daemon's chains are its own", all, StringComparison.Ordinal);
        Assert.Contains("uuid:", all, StringComparison.Ordinal);
        Assert.Contains("bitrate_up:", all, StringComparison.Ordinal);
        Assert.Contains("'this line is junk' is not 'key=value'", all, StringComparison.Ordinal);
        Assert.Contains("description pattern '^ssh'", all, StringComparison.Ordinal);
        Assert.Contains("rule 'deny 80 10.0.0.0/255.0.255.0 80' is not understood", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Leases_NewAndOldFormats_ExpiredSkipped()
    {
        var import = new MiniupnpdImport();
        long future = s_now.AddHours(1).ToUnixTimeSeconds();
        long past = s_now.AddHours(-1).ToUnixTimeSeconds();
        import.ReadLeases($"""
            TCP:8080:192.168.77.10:80:{future}:web: server
            UDP:9000:192.168.77.11:9000:0:game
            TCP:7000:192.168.77.12:7000:old format
            UDP:9001:192.168.77.11:9001:{past}:gone
            ICMP:1:192.168.77.10:1:0:bad
            """, s_now);
        Assert.Equal(3, import.Leases.Count);
        Assert.Equal((MappingProtocol.Tcp, (ushort)8080, "192.168.77.10", (ushort)80, "web: server"),
            (import.Leases[0].Protocol, import.Leases[0].ExternalPort, import.Leases[0].InternalAddress.ToString(), import.Leases[0].InternalPort, import.Leases[0].Description));
        Assert.Equal(s_now.AddHours(1), import.Leases[0].Expires);
        Assert.Null(import.Leases[1].Expires);
        Assert.Equal("old format", import.Leases[2].Description);
        Assert.Equal(2, import.NotConverted.Count);
    }

    [Fact]
    public void Command_ImportsLeasesIntoTheStateDirectory_AndSkipsHeldPorts()
    {
        Directory.CreateDirectory(_dir.Path);
        string config = Path.Combine(_dir.Path, "miniupnpd.conf");
        string leases = Path.Combine(_dir.Path, "upnp.leases");
        string state = Path.Combine(_dir.Path, "state");
        File.WriteAllText(config, "ext_ifname=lo\nlistening_ip=lo\n");
        long future = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        File.WriteAllText(leases, $"TCP:8080:192.168.77.10:80:{future}:web\nUDP:9000:192.168.77.11:9000:0:game\nTCP:8080:192.168.77.13:81:0:clash\n");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        Assert.Equal(0, ImportCommand.Run(config, leases, null, state, stdout, stderr));
        Assert.Contains("\"wan\": \"lo\"", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("leases: 2 of 3 imported", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("TCP 8080: the port is already held", stderr.ToString(), StringComparison.OrdinalIgnoreCase);

        using var store = new LeaseStore(state, fsync: false);
        StoredState stored = store.Load();
        Assert.Equal([(ushort)8080, (ushort)9000], stored.Leases.Select(l => l.ExternalPort).Order());
        Assert.All(stored.Leases, l => Assert.Equal(MappingOrigin.Upnp, l.Origin));
    }

    public void Dispose() => _dir.Dispose();
}
