using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests;

public class DeviceTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly DeviceId s_laptop = DeviceId.OfMac(0x020000000010UL);
    private static readonly IPAddress s_laptopAddress = IPAddress.Parse("192.168.77.10");

    [Fact]
    public void DhcpLeaseFiles_DnsmasqIscAndOdhcpd_NamesByMacThenAddress()
    {
        DhcpLeaseFile dnsmasq = DhcpLeaseFile.Parse("""
            1764700000 02:00:00:00:00:10 192.168.77.10 laptop 01:02:00:00:00:00:10
            1764700000 02:00:00:00:00:11 192.168.77.11 * *
            duid 00:01:00:01:2c:5d:aa:bb:02:00:00:00:00:10
            1764700000 1234 2001:db8:77::10 laptop6 00:01:00:01
            garbage line
            """);
        Assert.Equal("laptop", dnsmasq.NameOf(s_laptop, []));
        Assert.Null(dnsmasq.NameOf(DeviceId.OfMac(0x020000000011UL), [IPAddress.Parse("192.168.77.11")]));

        DhcpLeaseFile isc = DhcpLeaseFile.Parse("""
            lease 192.168.77.20 {
              starts 3 2026/12/02 10:00:00;
              hardware ethernet 02:00:00:00:00:20;
              client-hostname "console";
            }
            lease 192.168.77.21 { hardware ethernet 02:00:00:00:00:21; }
            """);
        Assert.Equal("console", isc.NameOf(DeviceId.OfMac(0x020000000020UL), []));
        Assert.Equal("console", isc.NameOf(DeviceId.OfAddress(IPAddress.Parse("192.168.77.20")), [IPAddress.Parse("192.168.77.20")]));
        Assert.Single(isc.ByMac);

        DhcpLeaseFile odhcpd = DhcpLeaseFile.Parse("""
            # br-lan 020000000030 ipv4 phone 1764700000 a 32 192.168.77.30/32
            # br-lan 000100012c5daabb 5f3c tv 1764700000 b 128 2001:db8:77::40/128 2001:db8:77::41/128
            """);
        Assert.Equal("phone", odhcpd.NameOf(DeviceId.OfMac(0x020000000030UL), []));
        Assert.Equal("tv", odhcpd.NameOf(DeviceId.OfAddress(IPAddress.Parse("2001:db8:77::41")), [IPAddress.Parse("2001:db8:77::41")]));

        // Names that would be markup or control characters are not names.
        Assert.Empty(DhcpLeaseFile.Parse("1764700000 02:00:00:00:00:50 192.168.77.50 <script> *").ByMac);
    }

    [Fact]
    public void Permission_SetBeatsRuleBeatsDefault_AndSurvivesARestart()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        DeviceRule[] rules = [new(0, IPNetwork.Parse("192.168.77.0/28"), false), new(0x020000000010UL, null, true)];
        var directory = new DeviceDirectory(state.Path, defaultAllow: true, rules, null);
        Assert.Equal((false, "rule"), directory.Decide(s_laptop, s_laptopAddress)); // the prefix rule comes first
        Assert.Equal((true, "default"), directory.Decide(DeviceId.OfMac(0x020000000099UL), IPAddress.Parse("192.168.77.99")));

        Assert.True(directory.TrySet("02-00-00-00-00-10", allow: true, out string? error), error);
        Assert.Equal((true, "set"), directory.Decide(s_laptop, s_laptopAddress));
        Assert.True(directory.TrySet("192.168.77.99", allow: false, out _));
        Assert.False(directory.Permits(DeviceId.OfAddress(IPAddress.Parse("192.168.77.99")), IPAddress.Parse("192.168.77.99")));
        Assert.False(directory.TrySet("the laptop", allow: false, out error));
        Assert.Contains("neither a MAC address", error, StringComparison.Ordinal);

        var restarted = new DeviceDirectory(state.Path, defaultAllow: false, [], null);
        Assert.Null(restarted.LoadError);
        Assert.Equal((true, "set"), restarted.Decide(s_laptop, s_laptopAddress));
        Assert.False(restarted.Permits(DeviceId.OfAddress(IPAddress.Parse("192.168.77.99")), IPAddress.Parse("192.168.77.99")));
        Assert.Contains("\"02:00:00:00:00:10\": \"allow\"", File.ReadAllText(Path.Combine(state.Path, DeviceDirectory.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void UnreadableSavedPermissions_Reported_NoneInForce()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        File.WriteAllText(Path.Combine(state.Path, DeviceDirectory.FileName), "{ not json");
        var directory = new DeviceDirectory(state.Path, defaultAllow: true, [], null);
        Assert.NotNull(directory.LoadError);
        Assert.True(directory.Permits(s_laptop, s_laptopAddress));
    }

    [Fact]
    public void Entries_SeenDevicesAndLeaseHolders_WithAddressesNamesAndCounts()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        string leaseFile = Path.Combine(state.Path, "dnsmasq.leases");
        File.WriteAllText(leaseFile, "1764700000 02:00:00:00:00:10 192.168.77.10 laptop *\n");
        var directory = new DeviceDirectory(state.Path, true, [], leaseFile, new FixedTime(s_now));
        directory.Seen(s_laptop, s_laptopAddress);
        directory.Seen(s_laptop, IPAddress.Parse("2001:db8:77::10"));
        directory.Seen(s_laptop, s_laptopAddress);
        var lease = new Lease(1, MappingProtocol.Udp, 5000, s_laptopAddress, 5000, s_laptopAddress, null, MappingOrigin.NatPmp, "x", null, s_now, s_now.AddHours(1), Device: s_laptop);
        var other = new Lease(2, MappingProtocol.Tcp, 6000, IPAddress.Parse("192.168.77.11"), 6000, IPAddress.Parse("192.168.77.11"), null, MappingOrigin.Upnp, "y", null, s_now, s_now.AddHours(1));
        Assert.True(directory.TrySet("02:00:00:00:00:77", allow: false, out _));

        List<DeviceEntry> entries = directory.Entries([lease, other], s_now);
        DeviceEntry laptop = entries.Single(e => e.Id == s_laptop);
        Assert.Equal(["192.168.77.10", "2001:db8:77::10"], laptop.Addresses.Select(a => a.ToString()));
        Assert.Equal(("laptop", 1, true, "default", s_now), (laptop.Hostname, laptop.Leases, laptop.Allowed, laptop.PermissionSource, laptop.LastSeen));
        Assert.Equal(1, entries.Single(e => e.Id == DeviceId.OfAddress(IPAddress.Parse("192.168.77.11"))).Leases);
        Assert.Equal((false, "set", 0), entries.Where(e => e.Id == DeviceId.OfMac(0x020000000077UL)).Select(e => (e.Allowed, e.PermissionSource, e.Leases)).Single());
    }

    [Fact]
    public void DeniedDevice_GetsNotAuthorized_OthersUnaffected()
    {
        var admission = new Admission(new LeaseTableOptions(86400, 16, true, new HashSet<ushort>()), Policy.ForLanSubnets([IPNetwork.Parse("192.168.77.0/24")]),
            devicePermits: (device, _) => device != s_laptop);
        var table = new LeaseTable(admission);
        var map = new MappingCommand(MappingCommandKind.Map, MappingProtocol.Udp, MappingOrigin.NatPmp, s_laptopAddress, s_laptopAddress, 5000, 5000, 3600, "x");
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(map, s_laptop, s_now, []).Status);
        Assert.Equal(0, table.Count);
        Assert.Equal(MappingStatus.Granted, table.Execute(map, DeviceId.OfMac(0x020000000011UL), s_now, []).Status);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Fact]
    public void OpenNat_SetBeatsConfig_DeniedDevicesExcluded_KeptAcrossARestart()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        var directory = new DeviceDirectory(state.Path, defaultAllow: true, [new(0x020000000066UL, null, false)], null, openNat: ["02:00:00:00:00:10", "192.168.77.20", "02:00:00:00:00:66"]);
        Assert.Equal((true, "config"), directory.OpenNatOf("02:00:00:00:00:10"));
        Assert.Equal((false, "off"), directory.OpenNatOf("02:00:00:00:00:11"));
        (List<ulong> macs, List<IPAddress> addresses) = directory.OpenNatTargets();
        Assert.Equal([0x020000000010UL], macs); // ...:66 is on but may not map ports
        Assert.Equal([IPAddress.Parse("192.168.77.20")], addresses);

        Assert.True(directory.TrySetOpenNat("02:00:00:00:00:10", on: false, out string? error), error);
        Assert.True(directory.TrySetOpenNat("192.168.77.30", on: true, out error), error);
        Assert.False(directory.TrySetOpenNat("2001:db8::1", on: true, out error));
        Assert.Contains("IPv4", error, StringComparison.Ordinal);
        Assert.Equal((false, "set"), directory.OpenNatOf("02:00:00:00:00:10"));
        (macs, addresses) = directory.OpenNatTargets();
        Assert.Empty(macs);
        Assert.Equal(["192.168.77.20", "192.168.77.30"], addresses.Select(a => a.ToString()).Order(StringComparer.Ordinal));

        // A device denied later loses Open NAT with it.
        Assert.True(directory.TrySet("192.168.77.30", allow: false, out _));
        Assert.Equal([IPAddress.Parse("192.168.77.20")], directory.OpenNatTargets().Addresses);

        var restarted = new DeviceDirectory(state.Path, defaultAllow: true, [], null, openNat: ["02:00:00:00:00:10"]);
        Assert.Equal((false, "set"), restarted.OpenNatOf("02:00:00:00:00:10"));
        Assert.Equal((true, "set"), restarted.OpenNatOf("192.168.77.30"));
        Assert.Contains("\"192.168.77.30\": true", File.ReadAllText(Path.Combine(state.Path, DeviceDirectory.FileName)), StringComparison.Ordinal);
    }

    [Fact]
    public void Entries_ListOpenNatDevices_WithTheAddressesTheKernelLearned()
    {
        var directory = new DeviceDirectory(null, true, [], null, new FixedTime(s_now), openNat: ["02:00:00:00:00:10"]);
        List<DeviceEntry> entries = directory.Entries([], s_now, [(s_laptopAddress, 0x020000000010UL), (IPAddress.Parse("192.168.77.99"), 0x020000000099UL)]);
        DeviceEntry laptop = Assert.Single(entries);
        Assert.Equal((s_laptop, true, "config"), (laptop.Id, laptop.OpenNat, laptop.OpenNatSource));
        Assert.Equal([s_laptopAddress], laptop.Addresses);
    }

    [Fact]
    public void OpenNatController_TellsTheKernelOnlyWhatChanged()
    {
        var kernel = new KernelBackend.InMemoryFirewallBackend(new FixedTime(s_now));
        var directory = new DeviceDirectory(null, true, [], null, openNat: ["192.168.77.20"]);
        var controller = new OpenNatController(directory, kernel, Microsoft.Extensions.Logging.Abstractions.NullLogger<OpenNatController>.Instance);
        Assert.True(controller.Apply());
        Assert.Equal([IPAddress.Parse("192.168.77.20")], kernel.OpenNatDevices.Addresses);

        kernel.SetOpenNatDevices([], []); // what a later Apply would overwrite only if something changed
        Assert.True(controller.Apply());
        Assert.Empty(kernel.OpenNatDevices.Addresses);

        Assert.True(directory.TrySetOpenNat("02:00:00:00:00:10", true, out _));
        Assert.True(controller.Apply());
        Assert.Equal([0x020000000010UL], kernel.OpenNatDevices.Macs);
        Assert.Equal([IPAddress.Parse("192.168.77.20")], kernel.OpenNatDevices.Addresses);
    }
}
