using System.Net;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests;

/// <summary>What admission grants, the kernel's interval sets accept: filters disjoint within a lease and across leases.</summary>
public class FilterSetTests
{
    private static readonly IPAddress s_a = IPAddress.Parse("192.168.77.10");
    private static readonly DateTimeOffset s_now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] s_nonce = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    private readonly List<LeaseChange> _changes = [];

    private static MappingFilter F(string network, ushort port = 0) => new(IPNetwork.Parse(network), port);

    private static bool NoTwoOverlap(IReadOnlyList<MappingFilter> filters) =>
        filters.SelectMany((a, i) => filters.Skip(i + 1).Select(b => (a, b))).All(p => !FilterSet.Overlap(p.a, p.b));

    [Fact]
    public void Normalize_OverlappingPrefixes_KeepsTheWiderOne()
    {
        Assert.Equal([F("198.51.100.0/24")], FilterSet.Normalize([F("198.51.100.0/24"), F("198.51.100.0/25")]));
        Assert.Equal([F("198.51.100.0/24")], FilterSet.Normalize([F("198.51.100.0/25"), F("198.51.100.0/24"), F("198.51.100.0/24")]));
        Assert.Equal([F("198.51.100.0/24", 443)], FilterSet.Normalize([F("198.51.100.0/24", 443), F("198.51.100.7/32", 443)]));
    }

    [Fact]
    public void Normalize_DisjointFilters_StaySortedAndWhole()
    {
        List<MappingFilter> filters = FilterSet.Normalize([F("203.0.113.0/24"), F("198.51.100.0/24", 80), F("198.51.100.0/24", 443)]);
        Assert.Equal([F("198.51.100.0/24", 80), F("198.51.100.0/24", 443), F("203.0.113.0/24")], filters);
    }

    [Fact]
    public void Normalize_NarrowEveryPortInsideWideOnePort_SplitsTheWideOne_SamePeers()
    {
        List<MappingFilter> filters = FilterSet.Normalize([F("198.51.100.0/24", 443), F("198.51.100.128/25")]);
        Assert.True(NoTwoOverlap(filters));

        // The same peers are admitted as before: sample every address of the /24 on port 443 and port 80.
        for (int host = 0; host < 256; host++)
        {
            IPAddress peer = IPAddress.Parse($"198.51.100.{host}");
            Assert.Contains(filters, f => f.Network.Contains(peer) && f.Port is 0 or 443);
            Assert.Equal(host >= 128, filters.Any(f => f.Network.Contains(peer) && f.Port is 0 or 80));
        }
    }

    [Fact]
    public void Compatible_EqualOrDisjoint_NotOverlapping()
    {
        Assert.True(FilterSet.Compatible([F("198.51.100.0/24")], [F("198.51.100.0/24")]));
        Assert.True(FilterSet.Compatible([F("198.51.100.0/24")], [F("203.0.113.0/24")]));
        Assert.True(FilterSet.Compatible([F("198.51.100.0/24", 80)], [F("198.51.100.0/24", 443)]));
        Assert.False(FilterSet.Compatible([F("198.51.100.0/24")], [F("198.51.100.9/32")]));
        Assert.False(FilterSet.Compatible([F("198.51.100.0/24", 80)], [F("198.51.100.0/25")]));
    }

    [Fact]
    public void Table_PcpMapWithOverlappingFilters_IsGrantedWithDisjointOnes()
    {
        var table = new LeaseTable(new LeaseTableOptions(86400, 128, true, new HashSet<ushort>()), Policy.ForLanSubnets([IPNetwork.Parse("192.168.77.0/24")]));
        MappingCommand map = new(MappingCommandKind.Map, MappingProtocol.Tcp, MappingOrigin.Pcp, s_a, s_a, 8080, 8080, 600, string.Empty, s_nonce,
            Filters: [F("198.51.100.0/24"), F("198.51.100.0/25")]);
        Assert.Equal(MappingStatus.Granted, table.Execute(map, s_now, _changes).Status);
        Assert.Equal([F("198.51.100.0/24")], table.Leases.Single().Filters);

        // A UPnP NewRemoteHost inside that filter, on the same internal endpoint, would make the kernel's sets overlap.
        MappingCommand upnp = new(MappingCommandKind.Map, MappingProtocol.Tcp, MappingOrigin.Upnp, s_a, s_a, 8080, 9090, 600, string.Empty,
            PreferFailure: true, Filters: [F("198.51.100.7/32")]);
        Assert.Equal(MappingStatus.CannotProvideExternal, table.Execute(upnp, s_now, _changes).Status);

        // The same remote host as the filter, or one outside it, sits beside it.
        Assert.Equal(MappingStatus.Granted, table.Execute(upnp with { Filters = [F("203.0.113.7/32")] }, s_now, _changes).Status);
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void Table_FiltersOfAnotherFamily_AreRefused()
    {
        var table = new LeaseTable(new LeaseTableOptions(86400, 128, true, new HashSet<ushort>()), Policy.ForLanSubnets([IPNetwork.Parse("192.168.77.0/24")]));
        MappingCommand map = new(MappingCommandKind.Map, MappingProtocol.Tcp, MappingOrigin.Pcp, s_a, s_a, 8080, 8080, 600, string.Empty, s_nonce,
            Filters: [F("2001:db8::/32")]);
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(map, s_now, _changes).Status);
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Table_TwoPeerLeasesWithOneKernelKey_SecondRefused()
    {
        var table = new LeaseTable(new LeaseTableOptions(86400, 128, true, new HashSet<ushort>()), Policy.ForLanSubnets([IPNetwork.Parse("192.168.77.0/24")]));
        var peer = new IPEndPoint(IPAddress.Parse("198.51.100.9"), 3478);
        MappingCommand first = new(MappingCommandKind.Peer, MappingProtocol.Udp, MappingOrigin.Pcp, s_a, s_a, 5000, 5000, 600, string.Empty, s_nonce, RemotePeer: peer);
        Assert.Equal(MappingStatus.Granted, table.Execute(first, s_now, _changes).Status);

        // The same internal endpoint and peer through another front end: the kernel's PEER map holds one translation.
        MappingCommand other = first with { Origin = MappingOrigin.NatPmp, Nonce = null };
        Assert.Equal(MappingStatus.NotAuthorized, table.Execute(other, s_now, _changes).Status);
        Assert.Equal(1, table.Count);
    }
}
