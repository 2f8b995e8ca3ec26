using System.Net;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests;

public class LeaseTablePcpTests
{
    private static readonly IPAddress s_a = IPAddress.Parse("192.168.77.10");
    private static readonly IPAddress s_b = IPAddress.Parse("192.168.77.11");
    private static readonly IPAddress s_a6 = IPAddress.Parse("2001:db8:77::10");
    private static readonly DateTimeOffset s_now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] s_nonce = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    private readonly List<LeaseChange> _changes = [];

    private static LeaseTable NewTable() =>
        new(new LeaseTableOptions(86400, 128, true, new HashSet<ushort>()),
            Policy.ForLanSubnets([IPNetwork.Parse("192.168.77.0/24"), IPNetwork.Parse("2001:db8:77::/64")]));

    private static MappingCommand Pcp(
        IPAddress client, ushort port, ushort suggested = 0, uint lifetime = 600, byte[]? nonce = null, bool preferFailure = false,
        IReadOnlyList<MappingFilter>? filters = null, IPAddress? target = null, bool thirdParty = false) =>
        new(MappingCommandKind.Map, MappingProtocol.Tcp, MappingOrigin.Pcp, client, target ?? client, port, suggested, lifetime, string.Empty,
            nonce ?? s_nonce, preferFailure, filters, thirdParty);

    [Fact]
    public void Renewal_WithAnotherNonce_NotAuthorized_DeleteToo()
    {
        LeaseTable table = NewTable();
        table.Execute(Pcp(s_a, 8080), s_now, _changes);
        byte[] other = [.. s_nonce.Reverse()];
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(Pcp(s_a, 8080, nonce: other), s_now, _changes).Status);
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(Pcp(s_a, 8080, lifetime: 0, nonce: other) with { Kind = MappingCommandKind.Delete }, s_now, _changes).Status);
        Assert.Equal(MappingStatus.Granted, table.Execute(Pcp(s_a, 8080), s_now, _changes).Status);
    }

    [Fact]
    public void PreferFailure_SuggestedPortTaken_CannotProvideExternal()
    {
        LeaseTable table = NewTable();
        table.Execute(Pcp(s_a, 8080, 8080), s_now, _changes);
        Assert.Equal(MappingStatus.CannotProvideExternal, table.Execute(Pcp(s_b, 8080, 8080, preferFailure: true), s_now, _changes).Status);
        Assert.Equal(8081, table.Execute(Pcp(s_b, 8080, 8080), s_now, _changes).ExternalPort);
    }

    [Fact]
    public void ThirdParty_AuthorisedByTheFrontEnd_PassesSecureMode()
    {
        LeaseTable table = NewTable();
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(Pcp(s_a, 8080, target: s_b), s_now, _changes).Status);
        MappingOutcome o = table.Execute(Pcp(s_a, 8080, target: s_b, thirdParty: true), s_now, _changes);
        Assert.Equal(MappingStatus.Granted, o.Status);
        Assert.Equal(s_b, table.Leases.Single().InternalAddress);
        Assert.Equal(s_a, table.Leases.Single().Client);
    }

    [Fact]
    public void IPv6_IsAPinholeOnTheSamePort_NotTakingTheIPv4PortSpace()
    {
        LeaseTable table = NewTable();
        table.Execute(Pcp(s_a, 8080, 8080), s_now, _changes);
        MappingOutcome pinhole = table.Execute(Pcp(s_a6, 8080, 9999), s_now, _changes);
        Assert.Equal(new MappingOutcome(MappingStatus.Granted, 8080, 600), pinhole);
        Assert.True(table.Leases.Single(l => l.IsPinhole).InternalAddress.Equals(s_a6));
        Assert.Equal(8080, table.FindByExternal(MappingProtocol.Tcp, 8080)!.ExternalPort);
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(Pcp(s_a6, 80), s_now, _changes).Status);
    }

    [Fact]
    public void Filters_RenewalWithoutFilterKeepsThem_EmptyListClearsThem()
    {
        LeaseTable table = NewTable();
        MappingFilter[] filters = [new(IPNetwork.Parse("203.0.113.2/32"), 0)];
        table.Execute(Pcp(s_a, 8080, filters: filters), s_now, _changes);
        table.Execute(Pcp(s_a, 8080), s_now, _changes);
        Assert.Equal(filters, table.Leases.Single().FilterList);
        table.Execute(Pcp(s_a, 8080, filters: []), s_now, _changes);
        Assert.Empty(table.Leases.Single().FilterList);
    }

    [Fact]
    public void Peer_OneLeasePerRemoteEndpoint_LifetimeZeroDeletesIt()
    {
        LeaseTable table = NewTable();
        var stun = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 3478);
        MappingCommand peer = Pcp(s_a, 5000, 5000) with { Kind = MappingCommandKind.Peer, Protocol = MappingProtocol.Udp, RemotePeer = stun };
        Assert.Equal(5000, table.Execute(peer, s_now, _changes).ExternalPort);
        Assert.Equal(5000, table.Execute(peer, s_now.AddSeconds(10), _changes).ExternalPort);
        Assert.Equal(5001, table.Execute(peer with { RemotePeer = new IPEndPoint(stun.Address, 3479) }, s_now, _changes).ExternalPort);
        Assert.Equal(stun, table.Leases.First().RemotePeer);

        _changes.Clear();
        Assert.Equal(MappingStatus.Deleted, table.Execute(peer with { RequestedLifetimeSeconds = 0 }, s_now, _changes).Status);
        Assert.Equal(LeaseChangeKind.Removed, Assert.Single(_changes).Kind);
    }

    [Fact]
    public void PinholeUniqueIds_NeverCollideWhileBothLive()
    {
        LeaseTable table = NewTable();
        MappingCommand first = Pcp(s_a6, 7000) with { Protocol = MappingProtocol.Udp };
        Assert.Equal(MappingStatus.Granted, table.Execute(first, s_now, _changes).Status);
        long firstId = table.Leases.Single().Id;

        // Ids run on until the next one's low 16 bits (the UPnP UniqueID) are the live pinhole's again.
        var ipv4 = new Lease(firstId + 65535, MappingProtocol.Tcp, 9000, s_a, 9000, s_a, null, MappingOrigin.NatPmp, "", null, s_now, s_now.AddHours(1));
        Assert.Null(table.Restore(ipv4, s_now));
        Assert.Equal((ushort)firstId, (ushort)table.NextId);

        Assert.Equal(MappingStatus.Granted, table.Execute(first with { InternalPort = 7001, SuggestedExternalPort = 7001 }, s_now, _changes).Status);
        Lease second = table.Leases.Single(l => l.IsPinhole && l.InternalPort == 7001);
        Assert.NotEqual((ushort)firstId, (ushort)second.Id);
        Assert.Equal(7000, table.FindPinhole((ushort)firstId, s_now)!.InternalPort);
        Assert.Equal(7001, table.FindPinhole((ushort)second.Id, s_now)!.InternalPort);
    }

    [Fact]
    public void Restore_TwoPinholesWithOneUniqueId_KeepsTheFirst()
    {
        LeaseTable table = NewTable();
        Lease Pinhole(long id, ushort port) => new(id, MappingProtocol.Udp, port, s_a6, port, s_a6, null, MappingOrigin.Upnp, "", null, s_now, s_now.AddHours(1));
        Assert.Null(table.Restore(Pinhole(5, 7000), s_now));
        Assert.NotNull(table.Restore(Pinhole(65541, 7001), s_now)); // written by a version that let UniqueIDs collide
        Assert.Equal(7000, table.FindPinhole(5, s_now)!.InternalPort);
    }
}
