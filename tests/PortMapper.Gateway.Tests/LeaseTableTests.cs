using System.Net;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests;

public class LeaseTableTests
{
    private static readonly IPAddress s_a = IPAddress.Parse("192.168.77.10");
    private static readonly IPAddress s_b = IPAddress.Parse("192.168.77.11");
    private static readonly DateTimeOffset s_now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private readonly List<LeaseChange> _changes = [];

    private static LeaseTable NewTable(int quota = 128, bool secure = true, uint maxLifetime = 86400, params ushort[] reserved) =>
        new(new LeaseTableOptions(maxLifetime, quota, secure, reserved.ToHashSet()), Policy.ForLanSubnets([IPNetwork.Parse("192.168.77.0/24")]));

    private static MappingCommand Map(IPAddress client, ushort internalPort, ushort suggested = 0, uint lifetime = 3600, MappingProtocol protocol = MappingProtocol.Tcp, IPAddress? target = null) =>
        new(MappingCommandKind.Map, protocol, MappingOrigin.NatPmp, client, target ?? client, internalPort, suggested, lifetime, string.Empty);

    private static MappingCommand Delete(IPAddress client, ushort internalPort, MappingProtocol protocol = MappingProtocol.Tcp) =>
        new(MappingCommandKind.Delete, protocol, MappingOrigin.NatPmp, client, client, internalPort, 0, 0, string.Empty);

    [Fact]
    public void Map_SuggestedPortFree_GrantsIt()
    {
        LeaseTable table = NewTable();
        MappingOutcome o = table.Execute(Map(s_a, 8080, 9000), s_now, _changes);
        Assert.Equal(new MappingOutcome(MappingStatus.Granted, 9000, 3600), o);
        Assert.Equal(LeaseChangeKind.Added, Assert.Single(_changes).Kind);
    }

    [Fact]
    public void Map_SuggestedPortTaken_AssignsAnotherPort()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 8080, 8080), s_now, _changes);
        MappingOutcome o = table.Execute(Map(s_b, 8080, 8080), s_now, _changes);
        Assert.Equal(MappingStatus.Granted, o.Status);
        Assert.Equal(8081, o.ExternalPort);
    }

    [Fact]
    public void Map_TakenInOtherProtocol_StillGrantsSamePort()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 8080, 8080, protocol: MappingProtocol.Udp), s_now, _changes);
        Assert.Equal(8080, table.Execute(Map(s_b, 8080, 8080), s_now, _changes).ExternalPort);
    }

    [Fact]
    public void Map_SameClientAndInternalPort_RenewsAndKeepsExternalPort()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 8080, 9000), s_now, _changes);
        _changes.Clear();
        MappingOutcome o = table.Execute(Map(s_a, 8080, 9500, lifetime: 60), s_now.AddSeconds(30), _changes);
        Assert.Equal(new MappingOutcome(MappingStatus.Granted, 9000, 60), o);
        Assert.Equal(LeaseChangeKind.Renewed, Assert.Single(_changes).Kind);
        Assert.Equal(1, table.Count);
        Assert.Equal(s_now.AddSeconds(90), table.Leases.Single().Expires);
    }

    [Fact]
    public void Map_QuotaReached_QuotaExceeded()
    {
        LeaseTable table = NewTable(quota: 2);
        table.Execute(Map(s_a, 2000), s_now, _changes);
        table.Execute(Map(s_a, 2001), s_now, _changes);
        Assert.Equal(MappingStatus.QuotaExceeded, table.Execute(Map(s_a, 2002), s_now, _changes).Status);
        Assert.Equal(MappingStatus.Granted, table.Execute(Map(s_b, 2002), s_now, _changes).Status);
    }

    [Fact]
    public void Map_PrivilegedInternalPort_NotAuthorizedByDefaultPolicy()
    {
        LeaseTable table = NewTable();
        _changes.Clear();
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(Map(s_a, 80, 8080), s_now, _changes).Status);
        Assert.Empty(_changes);
    }

    [Fact]
    public void Map_PrivilegedExternalPortSuggested_AssignsUnprivilegedOne()
    {
        LeaseTable table = NewTable();
        MappingOutcome o = table.Execute(Map(s_a, 8080, 80), s_now, _changes);
        Assert.Equal(MappingStatus.Granted, o.Status);
        Assert.True(o.ExternalPort >= 1024);
    }

    [Fact]
    public void Map_OutsideLan_NotAuthorized()
    {
        LeaseTable table = NewTable(secure: false);
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(Map(IPAddress.Parse("10.1.1.1"), 8080), s_now, _changes).Status);
    }

    [Fact]
    public void Map_SecureModeForAnotherHost_NotAuthorized()
    {
        LeaseTable table = NewTable();
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(Map(s_a, 8080, target: s_b), s_now, _changes).Status);
        Assert.Equal(MappingStatus.Granted, NewTable(secure: false).Execute(Map(s_a, 8080, target: s_b), s_now, _changes).Status);
    }

    [Fact]
    public void Map_ReservedPortSuggested_AssignsAnother()
    {
        LeaseTable table = NewTable(reserved: 5351);
        Assert.Equal(5352, table.Execute(Map(s_a, 5351, 5351), s_now, _changes).ExternalPort);
    }

    [Fact]
    public void Map_LifetimeAboveMaximum_Clamped()
    {
        LeaseTable table = NewTable(maxLifetime: 7200);
        Assert.Equal(7200u, table.Execute(Map(s_a, 8080, lifetime: 1_000_000), s_now, _changes).LifetimeSeconds);
    }

    [Fact]
    public void Map_PermittedPortsAllTaken_NoResources()
    {
        var policy = new Policy([new PolicyRule(true, new PortRange(5000, 5001), IPNetwork.Parse("192.168.77.0/24"), PortRange.Unprivileged)]);
        var table = new LeaseTable(new LeaseTableOptions(86400, 128, true, new HashSet<ushort>()), policy);
        table.Execute(Map(s_a, 8080, 5000), s_now, _changes);
        table.Execute(Map(s_a, 8081, 5000), s_now, _changes);
        Assert.Equal(MappingStatus.NoResources, table.Execute(Map(s_a, 8082, 5000), s_now, _changes).Status);
    }

    [Fact]
    public void Delete_OtherClientsMapping_LeavesItAlone()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 8080), s_now, _changes);
        _changes.Clear();
        Assert.Equal(MappingStatus.Deleted, table.Execute(Delete(s_b, 8080), s_now, _changes).Status);
        Assert.Empty(_changes);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Delete_OwnMapping_RemovesIt()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 8080), s_now, _changes);
        _changes.Clear();
        table.Execute(Delete(s_a, 8080), s_now, _changes);
        Assert.Equal(LeaseChangeKind.Removed, Assert.Single(_changes).Kind);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void DeleteAll_RemovesOnlyThatClientsMappingsOfThatProtocol()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 2000), s_now, _changes);
        table.Execute(Map(s_a, 2001), s_now, _changes);
        table.Execute(Map(s_a, 2002, protocol: MappingProtocol.Udp), s_now, _changes);
        table.Execute(Map(s_b, 2003), s_now, _changes);
        _changes.Clear();
        var all = new MappingCommand(MappingCommandKind.DeleteAll, MappingProtocol.Tcp, MappingOrigin.NatPmp, s_a, s_a, 0, 0, 0, string.Empty);
        table.Execute(all, s_now, _changes);
        Assert.Equal(2, _changes.Count);
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void Renewals_KeepTheExpiryQueueNearTheTableSize_AndEachLeaseExpiresAtItsLastRenewal()
    {
        LeaseTable table = NewTable();
        for (ushort port = 1; port <= 10; port++)
        {
            table.Execute(Map(s_a, (ushort)(8000 + port), lifetime: 3600), s_now, _changes);
        }

        // 5,000 renewals, each ending later than the one before: all but ten queued entries are stale, and come due
        // before the leases do.
        for (int i = 0; i < 5000; i++)
        {
            table.Execute(Map(s_a, (ushort)(8001 + (i % 10)), lifetime: (uint)(600 + (i / 10))), s_now.AddSeconds(i / 10), _changes);
            Assert.True(table.ExpiryQueueLength <= (2 * table.Count) + 1025, $"{table.ExpiryQueueLength} queued after {i + 1} renewals");
        }

        _changes.Clear();
        table.RemoveExpired(s_now.AddSeconds(1597), _changes); // the last renewals (at 499 s, for 1,099 s) end at 1,598 s
        Assert.Empty(_changes);
        Assert.Equal(10, table.Count);
        table.RemoveExpired(s_now.AddSeconds(1598), _changes);
        Assert.Equal(10, _changes.Count(c => c.Kind == LeaseChangeKind.Expired));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void RemoveExpired_AfterLifetime_ReportsExpiredOnce()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 8080, lifetime: 10), s_now, _changes);
        _changes.Clear();
        table.RemoveExpired(s_now.AddSeconds(9), _changes);
        Assert.Empty(_changes);
        table.RemoveExpired(s_now.AddSeconds(10), _changes);
        Assert.Equal(LeaseChangeKind.Expired, Assert.Single(_changes).Kind);
        table.RemoveExpired(s_now.AddSeconds(11), _changes);
        Assert.Single(_changes);
    }

    [Fact]
    public void RemoveExpired_RenewedLease_IsKept()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 8080, lifetime: 10), s_now, _changes);
        table.Execute(Map(s_a, 8080, lifetime: 100), s_now.AddSeconds(5), _changes);
        _changes.Clear();
        table.RemoveExpired(s_now.AddSeconds(50), _changes);
        Assert.Empty(_changes);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Map_PortHeldByLapsedLease_TakesItOver()
    {
        LeaseTable table = NewTable();
        table.Execute(Map(s_a, 8080, 8080, lifetime: 10), s_now, _changes);
        _changes.Clear();
        MappingOutcome o = table.Execute(Map(s_b, 8080, 8080), s_now.AddSeconds(11), _changes);
        Assert.Equal(8080, o.ExternalPort);
        Assert.Equal([LeaseChangeKind.Expired, LeaseChangeKind.Added], _changes.Select(c => c.Kind));
    }

    [Fact]
    public void Restore_ExpiredLease_IsNotRestoredButAdvancesIds()
    {
        LeaseTable table = NewTable();
        var lapsed = new Lease(41, MappingProtocol.Tcp, 8080, s_a, 8080, s_a, null, MappingOrigin.NatPmp, "", null, s_now.AddHours(-2), s_now.AddHours(-1));
        Assert.Equal(LeaseTable.ExpiredReason, table.Restore(lapsed, s_now));
        Assert.Equal(0, table.Count);
        Assert.Equal(42, table.NextId);
    }
}
