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
    public void Fsync_TheWriteIsInTheFileBeforeTheSync_AndDurableAfterWaiting()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, LeaseStore.FileName);
        using (var store = new LeaseStore(dir.Path, fsync: true))
        {
            store.Load();
            long before = new FileInfo(path).Length;
            store.Record([new(LeaseChangeKind.Added, NewLease(1, 7001))]);
            store.Flush();

            // In the file at once (a killed process loses nothing); on the disk once the syncer has run.
            Assert.True(new FileInfo(path).Length > before);
            store.WaitUntilDurable();
            store.Record([new(LeaseChangeKind.Added, NewLease(2, 7002))]);
            store.Flush();
        }

        using var reopened = new LeaseStore(dir.Path, fsync: false);
        Assert.Equal([1L, 2L], reopened.Load().Leases.Select(l => l.Id).Order());
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

    /// <summary>A lease with every field set, as the journal's golden record below holds it.</summary>
    private static Lease GoldenLease() => new(
        42, MappingProtocol.Tcp, 8080, IPAddress.Parse("192.168.77.10"), 80, IPAddress.Parse("192.168.77.10"),
        new IPEndPoint(IPAddress.Parse("198.51.100.9"), 3478), MappingOrigin.Pcp, "web", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        s_now, s_now.AddHours(1), [new MappingFilter(IPNetwork.Parse("198.51.100.0/24"), 443)], Devices.DeviceId.OfMac(0x02_00_00_00_00_2a));

    // Length, CRC-32, then: type 1, id, protocol, external port, internal address and port, client, remote peer and
    // port, origin, created and expiry (Unix ms), description, nonce, filters, device MAC. Written out by hand
    // from the layout; a format change must break this test, not an upgrade.
    private const string GoldenPut =
        "000000522de1ede0" + "01" + "000000000000002a" + "06" + "1f90" + "04c0a84d0a" + "0050" + "04c0a84d0a" + "04c6336409" + "0d96"
        + "02" + "000001a21293b600" + "000001a212caa480" + "0003776562" + "0c0102030405060708090a0b0c" + "01" + "04c6336400" + "18" + "01bb"
        + "0602000000002a";

    // The same lease as a journal written before devices holds it: no device bytes at the end.
    private const string GoldenPutBeforeDevices =
        "0000004ba2ed9bfd01000000000000002a061f9004c0a84d0a005004c0a84d0a04c63364090d9602000001a21293b600000001a212caa48000037765620c0102030405060708090a0b0c0104c63364001801bb";

    [Fact]
    public void Journal_PutRecord_IsByteForByteTheGoldenRecord()
    {
        using var dir = new TempDirectory();
        using (var store = new LeaseStore(dir.Path, fsync: false))
        {
            store.Load();
            store.Record([new(LeaseChangeKind.Added, GoldenLease())]);
            store.Flush();
        }

        Assert.Equal(GoldenPut, Convert.ToHexStringLower(File.ReadAllBytes(Path.Combine(dir.Path, LeaseStore.FileName))));
    }

    [Theory]
    [InlineData(GoldenPut, true)]
    [InlineData(GoldenPutBeforeDevices, false)]
    public void Journal_GoldenRecords_ReadBack(string hex, bool withDevice)
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllBytes(Path.Combine(dir.Path, LeaseStore.FileName), Convert.FromHexString(hex));
        using var store = new LeaseStore(dir.Path, fsync: false);
        Lease read = Assert.Single(store.Load().Leases);
        Lease golden = GoldenLease();
        Assert.Equal((golden.Id, golden.Protocol, golden.ExternalPort, golden.InternalAddress, golden.InternalPort, golden.Client, golden.RemotePeer),
            (read.Id, read.Protocol, read.ExternalPort, read.InternalAddress, read.InternalPort, read.Client, read.RemotePeer));
        Assert.Equal((golden.Origin, golden.Description, golden.Created, golden.Expires), (read.Origin, read.Description, read.Created, read.Expires));
        Assert.Equal(golden.Nonce, read.Nonce);
        Assert.Equal(golden.Filters, read.Filters);
        Assert.Equal(withDevice ? "02:00:00:00:00:2a" : "192.168.77.10", read.Owner.ToString());
    }

    [Theory]
    [InlineData(9, 99)]  // protocol
    [InlineData(31, 77)] // origin
    [InlineData(0, 9)]   // record type
    [InlineData(75, 5)]  // device address length
    public void Load_IntactRecordWithUnreadableContent_IsSkipped_TheOthersRestored(int offset, byte value)
    {
        using var dir = new TempDirectory();
        using (var store = new LeaseStore(dir.Path, fsync: false))
        {
            store.Load();
            store.Record([new(LeaseChangeKind.Added, NewLease(1, 5000))]);
            store.Flush();
        }

        // A record whose CRC is right but whose content this version cannot read, between two good ones.
        byte[] bad = Convert.FromHexString(GoldenPut)[8..];
        bad[offset] = value;
        var framed = new byte[8 + bad.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(framed, (uint)bad.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(4), System.IO.Hashing.Crc32.HashToUInt32(bad));
        bad.CopyTo(framed, 8);
        string path = Path.Combine(dir.Path, LeaseStore.FileName);
        File.AppendAllBytes(path, framed);
        using (var store = new LeaseStore(dir.Path, fsync: false))
        {
            store.Load();
            store.Record([new(LeaseChangeKind.Added, NewLease(3, 5002))]);
            store.Flush();
        }

        using var reopened = new LeaseStore(dir.Path, fsync: false);
        StoredState state = reopened.Load();
        Assert.Equal(new ushort[] { 5000, 5002 }, state.Leases.Select(l => l.ExternalPort).Order());
        Assert.Equal(1, state.SkippedRecords);
        Assert.NotNull(state.SkipReason);
        Assert.Equal(0, state.DiscardedBytes);
    }
}
