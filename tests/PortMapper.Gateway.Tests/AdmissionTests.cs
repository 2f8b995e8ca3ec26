using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Leases;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests;

/// <summary>The admission stage as a table: every origin against every rule, through the lease table that asks it.</summary>
public class AdmissionTests
{
    private static readonly IPAddress s_a = IPAddress.Parse("192.168.77.10");
    private static readonly IPAddress s_b = IPAddress.Parse("192.168.77.11");
    private static readonly DateTimeOffset s_now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] s_nonce = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    private const ushort SshPort = 2222;      // a TCP listener of the gateway
    private const ushort WireGuardPort = 51820; // a UDP socket of the gateway (a kernel socket for WireGuard)
    private const ushort ReservedPort = 4500;

    private readonly List<LeaseChange> _changes = [];

    private sealed class GatewayPorts : IHostPorts
    {
        public HostPortSet Read(IPAddress? externalAddress, TransportProtocol? only = null) =>
            new(only == TransportProtocol.Udp ? [] : [SshPort], only == TransportProtocol.Tcp ? [] : [WireGuardPort]);
    }

    public enum Rule
    {
        Plain,
        ReservedPort,
        GatewayTcpListener,
        GatewayUdpSocket,
        PolicyDeniesPort,
        SecureModeOtherHost,
        DeviceQuotaFull,
        TotalLimitFull,
        LongLifetime,
    }

    private static LeaseTable NewTable(int perDevice = 4, int total = 8) =>
        new(new Admission(
            new LeaseTableOptions(3600, perDevice, true, new HashSet<ushort> { ReservedPort }, total),
            new Policy([
                new PolicyRule(false, new PortRange(6000, 6999), IPNetwork.Parse("0.0.0.0/0"), new PortRange(1, 65535)),
                new PolicyRule(true, new PortRange(1024, 65535), IPNetwork.Parse("192.168.77.0/24"), new PortRange(1024, 65535)),
            ]),
            new GatewayPorts()));

    private static MappingCommand Command(MappingOrigin origin, ushort port, MappingProtocol protocol = MappingProtocol.Tcp, IPAddress? client = null,
        IPAddress? target = null, uint lifetime = 600, bool insist = true) =>
        new(MappingCommandKind.Map, protocol, origin, client ?? s_a, target ?? client ?? s_a, port, port, lifetime, string.Empty,
            origin == MappingOrigin.Pcp ? s_nonce : null,
            PreferFailure: insist && origin != MappingOrigin.NatPmp);

    /// <summary>
    /// What each origin gets when it insists on the port (UPnP AddPortMapping, PCP PREFER_FAILURE), and NAT-PMP,
    /// which cannot insist: another port, never the gateway's or a reserved one.
    /// </summary>
    [Theory]
    [InlineData(MappingOrigin.Upnp, Rule.Plain, MappingStatus.Granted)]
    [InlineData(MappingOrigin.Pcp, Rule.Plain, MappingStatus.Granted)]
    [InlineData(MappingOrigin.NatPmp, Rule.Plain, MappingStatus.Granted)]
    [InlineData(MappingOrigin.Upnp, Rule.ReservedPort, MappingStatus.ConflictWithOtherMechanism)]
    [InlineData(MappingOrigin.Pcp, Rule.ReservedPort, MappingStatus.ConflictWithOtherMechanism)]
    [InlineData(MappingOrigin.NatPmp, Rule.ReservedPort, MappingStatus.Granted)]
    [InlineData(MappingOrigin.Upnp, Rule.GatewayTcpListener, MappingStatus.ConflictWithOtherMechanism)]
    [InlineData(MappingOrigin.Pcp, Rule.GatewayTcpListener, MappingStatus.ConflictWithOtherMechanism)]
    [InlineData(MappingOrigin.NatPmp, Rule.GatewayTcpListener, MappingStatus.Granted)]
    [InlineData(MappingOrigin.Upnp, Rule.GatewayUdpSocket, MappingStatus.ConflictWithOtherMechanism)]
    [InlineData(MappingOrigin.Pcp, Rule.GatewayUdpSocket, MappingStatus.ConflictWithOtherMechanism)]
    [InlineData(MappingOrigin.NatPmp, Rule.GatewayUdpSocket, MappingStatus.Granted)]
    [InlineData(MappingOrigin.Upnp, Rule.PolicyDeniesPort, MappingStatus.NotAuthorized)]
    [InlineData(MappingOrigin.Pcp, Rule.PolicyDeniesPort, MappingStatus.NotAuthorized)]
    [InlineData(MappingOrigin.NatPmp, Rule.PolicyDeniesPort, MappingStatus.Granted)]
    [InlineData(MappingOrigin.Upnp, Rule.SecureModeOtherHost, MappingStatus.NotAuthorized)]
    [InlineData(MappingOrigin.Pcp, Rule.SecureModeOtherHost, MappingStatus.NotAuthorized)]
    [InlineData(MappingOrigin.NatPmp, Rule.SecureModeOtherHost, MappingStatus.NotAuthorized)]
    [InlineData(MappingOrigin.Upnp, Rule.DeviceQuotaFull, MappingStatus.QuotaExceeded)]
    [InlineData(MappingOrigin.Pcp, Rule.DeviceQuotaFull, MappingStatus.QuotaExceeded)]
    [InlineData(MappingOrigin.NatPmp, Rule.DeviceQuotaFull, MappingStatus.QuotaExceeded)]
    [InlineData(MappingOrigin.Upnp, Rule.TotalLimitFull, MappingStatus.QuotaExceeded)]
    [InlineData(MappingOrigin.Pcp, Rule.TotalLimitFull, MappingStatus.QuotaExceeded)]
    [InlineData(MappingOrigin.NatPmp, Rule.TotalLimitFull, MappingStatus.QuotaExceeded)]
    [InlineData(MappingOrigin.Upnp, Rule.LongLifetime, MappingStatus.Granted)]
    [InlineData(MappingOrigin.Pcp, Rule.LongLifetime, MappingStatus.Granted)]
    [InlineData(MappingOrigin.NatPmp, Rule.LongLifetime, MappingStatus.Granted)]
    public void Origin_x_Rule(MappingOrigin origin, Rule rule, MappingStatus expected)
    {
        LeaseTable table = NewTable();
        var device = DeviceId.OfMac(0x0200_0000_0001);
        ushort port = rule switch
        {
            Rule.ReservedPort => ReservedPort,
            Rule.GatewayTcpListener => SshPort,
            Rule.GatewayUdpSocket => WireGuardPort,
            Rule.PolicyDeniesPort => 6100,
            _ => 8080,
        };
        MappingProtocol protocol = rule == Rule.GatewayUdpSocket ? MappingProtocol.Udp : MappingProtocol.Tcp;
        if (rule == Rule.DeviceQuotaFull)
        {
            // The device's quota filled from another of its addresses.
            for (ushort p = 9000; p < 9004; p++)
            {
                Assert.Equal(MappingStatus.Granted, table.Execute(Command(origin, p, client: s_b), device, s_now, _changes).Status);
            }
        }
        else if (rule == Rule.TotalLimitFull)
        {
            for (int i = 0; i < 8; i++)
            {
                IPAddress other = IPAddress.Parse($"192.168.77.{100 + i}");
                Assert.Equal(MappingStatus.Granted, table.Execute(Command(origin, (ushort)(9000 + i), client: other), DeviceId.OfAddress(other), s_now, _changes).Status);
            }
        }

        MappingCommand command = Command(origin, port, protocol, target: rule == Rule.SecureModeOtherHost ? s_b : null,
            lifetime: rule == Rule.LongLifetime ? 30u * 86400 : 600u);
        MappingOutcome outcome = table.Execute(command, device, s_now, _changes);

        Assert.Equal(expected, outcome.Status);
        if (outcome.Status == MappingStatus.Granted)
        {
            // Never the gateway's port, a reserved one or one the policy denies, whatever the origin.
            Assert.NotEqual(SshPort, outcome.ExternalPort);
            Assert.NotEqual(WireGuardPort, outcome.ExternalPort);
            Assert.NotEqual(ReservedPort, outcome.ExternalPort);
            Assert.False(outcome.ExternalPort is >= 6000 and <= 6999);
            uint ceiling = rule == Rule.LongLifetime ? (origin == MappingOrigin.Upnp ? Admission.UpnpMaxLifetimeSeconds : 3600) : 600;
            Assert.Equal(ceiling, outcome.LifetimeSeconds);
        }
    }

    [Fact]
    public void GatewayPort_OfTheOtherProtocol_IsFree()
    {
        LeaseTable table = NewTable();
        Assert.Equal(MappingStatus.Granted, table.Execute(Command(MappingOrigin.Upnp, SshPort, MappingProtocol.Udp), s_now, _changes).Status);
        Assert.Equal(MappingStatus.Granted, table.Execute(Command(MappingOrigin.Upnp, WireGuardPort, MappingProtocol.Tcp), s_now, _changes).Status);
    }

    [Fact]
    public void OneDevice_SeveralIPv6Addresses_SharesOneQuota()
    {
        var table = new LeaseTable(new Admission(
            new LeaseTableOptions(3600, 3, true, new HashSet<ushort>(), 100),
            Policy.ForLanSubnets([IPNetwork.Parse("2001:db8:77::/64")])));
        var device = DeviceId.OfMac(0x0200_0000_0042);
        var granted = 0;
        for (int i = 0; i < 4; i++)
        {
            IPAddress privacy = IPAddress.Parse($"2001:db8:77::{i + 1:x}");
            for (ushort port = 7000; port < 7002; port++)
            {
                MappingCommand pinhole = new(MappingCommandKind.Map, MappingProtocol.Udp, MappingOrigin.Pcp, privacy, privacy, port, 0, 600, string.Empty, s_nonce);
                granted += table.Execute(pinhole, device, s_now, _changes).Status == MappingStatus.Granted ? 1 : 0;
            }
        }

        Assert.Equal(3, granted);
        Assert.Equal(3, table.DeviceLeaseCount(device, s_now));

        // Another device is not charged for it.
        IPAddress other = IPAddress.Parse("2001:db8:77::99");
        MappingCommand its = new(MappingCommandKind.Map, MappingProtocol.Udp, MappingOrigin.Pcp, other, other, 7000, 0, 600, string.Empty, s_nonce);
        Assert.Equal(MappingStatus.Granted, table.Execute(its, DeviceId.OfMac(0x0200_0000_0043), s_now, _changes).Status);
    }

    [Fact]
    public void Media_FollowsTheSameRulesAsAnExternalPort()
    {
        Admission admission = NewTable().Admission;
        Assert.True(admission.MayOpenMedia(s_a, 8000));
        Assert.False(admission.MayOpenMedia(s_a, WireGuardPort));
        Assert.False(admission.MayOpenMedia(s_a, ReservedPort));
        Assert.False(admission.MayOpenMedia(s_a, 6100));
        Assert.False(admission.MayOpenMedia(IPAddress.Parse("10.9.9.9"), 8000));
    }

    [Fact]
    public void Restore_RefusesWhatAdmissionNowRefuses()
    {
        LeaseTable table = NewTable();
        Lease Held(long id, ushort port, MappingProtocol protocol = MappingProtocol.Tcp) =>
            new(id, protocol, port, s_a, port, s_a, null, MappingOrigin.NatPmp, string.Empty, null, s_now, s_now.AddHours(1));

        Assert.Null(table.Restore(Held(1, 8080), s_now));
        Assert.Equal("the port is the gateway's", table.Restore(Held(2, SshPort), s_now));
        Assert.Equal("the port is the gateway's", table.Restore(Held(3, ReservedPort), s_now));
        Assert.Equal("policy", table.Restore(Held(4, 6100), s_now));
        Assert.Equal("the port is already held", table.Restore(Held(5, 8080), s_now));
        Assert.Equal(1, table.Count);
    }
}
