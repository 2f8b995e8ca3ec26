using System.Net;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Persistence;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests;

public class LeaseStoreTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static Lease NewLease(long id, ushort port) => new(
        id, MappingProtocol.Udp, port, IPAddress.Parse("192.168.77.10"), port, IPAddress.Parse("192.168.77.10"),
        RemotePeer: null, MappingOrigin.NatPmp, "game ü", Nonce: null, s_now, s_now.AddHours(1));

    [Fact]
    public void Load_AfterPutsAndDeletes_RestoresTheLiveLeasesExactly()
    {
        using var dir = new TempDirectory();
        using (var store = new LeaseStore(dir.Path, fsync: false))
        {
            store.Load();
            store.RecordEpoch(s_now, IPAddress.Parse("203.0.113.1"));
            store.Record([new(LeaseChangeKind.Added, NewLease(1, 5000)), new(LeaseChangeKind.Added, NewLease(2, 5001))]);
            store.Record([new(LeaseChangeKind.Renewed, NewLease(1, 5000) with { Expires = s_now.AddHours(2) }), new(LeaseChangeKind.Removed, NewLease(2, 5001))]);
            store.Flush();
        }

        using var reopened = new LeaseStore(dir.Path, fsync: false);
        StoredState state = reopened.Load();
        Lease restored = Assert.Single(state.Leases);
        Assert.Equal(NewLease(1, 5000).Description, restored.Description);
        Assert.Equal(s_now.AddHours(2), restored.Expires);
        Assert.Equal(s_now, state.EpochStart);
        Assert.Equal(IPAddress.Parse("203.0.113.1"), state.EpochAddress);
        Assert.Equal(3, state.NextId);
        Assert.Equal(0, state.DiscardedBytes);
    }

    [Fact]
    public void Load_PcpLease_KeepsNonceFiltersAndRemotePeer()
    {
        using var dir = new TempDirectory();
        Lease pcp = NewLease(9, 9000) with
        {
            Origin = MappingOrigin.Pcp,
            Nonce = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            RemotePeer = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 3478),
            Filters = [new MappingFilter(IPNetwork.Parse("203.0.113.0/24"), 443), new MappingFilter(IPNetwork.Parse("2001:db8::/32"), 0)],
        };
        using (var store = new LeaseStore(dir.Path, fsync: false))
        {
            store.Load();
            store.Record([new(LeaseChangeKind.Added, pcp)]);
            store.Flush();
        }

        using var reopened = new LeaseStore(dir.Path, fsync: false);
        Lease back = Assert.Single(reopened.Load().Leases);
        Assert.Equal(pcp.Nonce, back.Nonce);
        Assert.Equal(pcp.RemotePeer, back.RemotePeer);
        Assert.Equal(pcp.Filters, back.FilterList);
    }

    [Fact]
    public void Load_EveryTruncationOfTheJournal_RestoresAPrefixAndCutsTheTail()
    {
        using var dir = new TempDirectory();
        using (var store = new LeaseStore(dir.Path, fsync: false))
        {
            store.Load();
            for (int i = 1; i <= 3; i++)
            {
                store.Record([new(LeaseChangeKind.Added, NewLease(i, (ushort)(5000 + i)))]);
            }

            store.Flush();
        }

        string file = Path.Combine(dir.Path, LeaseStore.FileName);
        byte[] full = File.ReadAllBytes(file);
        int previous = 0;
        for (int length = 0; length <= full.Length; length++)
        {
            File.WriteAllBytes(file, full.AsSpan(0, length).ToArray());
            using var store = new LeaseStore(dir.Path, fsync: false);
            StoredState state = store.Load();
            Assert.True(state.Leases.Count >= previous);
            Assert.Equal(Enumerable.Range(1, state.Leases.Count).Select(i => (long)i), state.Leases.Select(l => l.Id).Order());
            Assert.Equal(length - state.DiscardedBytes, new FileInfo(file).Length);
            previous = state.Leases.Count;
        }

        Assert.Equal(3, previous);
    }

    [Fact]
    public void Load_CorruptedByte_StopsAtTheDamagedRecord()
    {
        using var dir = new TempDirectory();
        using (var store = new LeaseStore(dir.Path, fsync: false))
        {
            store.Load();
            store.Record([new(LeaseChangeKind.Added, NewLease(1, 5001)), new(LeaseChangeKind.Added, NewLease(2, 5002))]);
            store.Flush();
        }

        string file = Path.Combine(dir.Path, LeaseStore.FileName);
        byte[] bytes = File.ReadAllBytes(file);
        bytes[^3] ^= 0xFF;
        File.WriteAllBytes(file, bytes);
        using var reopened = new LeaseStore(dir.Path, fsync: false);
        StoredState state = reopened.Load();
        Assert.Equal(1, Assert.Single(state.Leases).Id);
        Assert.True(state.DiscardedBytes > 0);
    }

    [Fact]
    public void Compact_ThenMoreRecords_RestoresBoth()
    {
        using var dir = new TempDirectory();
        using (var store = new LeaseStore(dir.Path, fsync: true))
        {
            store.Load();
            store.Compact([NewLease(7, 7000)], s_now, null, nextId: 100);
            store.Record([new(LeaseChangeKind.Added, NewLease(100, 7100))]);
            store.Flush();
        }

        using var reopened = new LeaseStore(dir.Path, fsync: false);
        StoredState state = reopened.Load();
        Assert.Equal([7L, 100L], state.Leases.Select(l => l.Id).Order());
        Assert.Equal(101, state.NextId);
        Assert.False(File.Exists(Path.Combine(dir.Path, LeaseStore.FileName + ".tmp")));
    }
}
