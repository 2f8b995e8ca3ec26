using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Persistence;
using PortMapper.Gateway.Status;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests;

public sealed class MappingEngineTests : IDisposable
{
    private static readonly IPAddress s_host = IPAddress.Parse("192.168.77.10");

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryFirewallBackend _kernel;
    private readonly Inventory _inventory = new();

    public MappingEngineTests()
    {
        _kernel = new InMemoryFirewallBackend(_time);
    }

    private sealed class Inventory : INetworkInventory
    {
        public IPAddress Wan { get; set; } = IPAddress.Parse("203.0.113.1");

        public IReadOnlyList<NetworkInterfaceInfo> Interfaces() =>
        [
            new("wan0", 2, true, false, [new(Wan, 24)]),
            new("br-lan", 3, true, false, [new(IPAddress.Parse("192.168.77.1"), 24)]),
        ];

        public string? DefaultRouteInterface() => "wan0";
    }

    /// <summary>A started engine; disposing it stops the engine and closes its store.</summary>
    private sealed record Running(MappingEngine Engine, GatewayState State, LeaseStore Store) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Engine.StopAsync(CancellationToken.None);
            Store.Dispose();
        }
    }

    private async Task<Running> StartAsync()
    {
        var (engine, state, store) = NewEngine();
        await engine.StartAsync(CancellationToken.None);
        return new Running(engine, state, store);
    }

    private (MappingEngine Engine, GatewayState State, LeaseStore Store) NewEngine()
    {
        var errors = new List<string>();
        GatewayOptions options = GatewayConfiguration.Resolve(new GatewaySettings { StateDirectory = _dir.Path, Fsync = false }, _inventory, errors)!;
        Assert.Empty(errors);
        var state = new GatewayState(_time);
        var store = new LeaseStore(_dir.Path, fsync: false);
        var engine = new MappingEngine(options, store, _kernel, state, new WanAddressSource(_inventory, options), _time, NullLogger<MappingEngine>.Instance);
        return (engine, state, store);
    }

    private static MappingCommand Map(ushort port, uint lifetime) =>
        new(MappingCommandKind.Map, MappingProtocol.Udp, MappingOrigin.NatPmp, s_host, s_host, port, port, lifetime, string.Empty);

    [Fact]
    public async Task Map_IsInTheKernelAndTheJournalBeforeTheAnswer()
    {
        await using Running run = await StartAsync();
        var (engine, _) = (run.Engine, run.State);
        MappingOutcome outcome = await engine.RunAsync(Map(5000, 600), CancellationToken.None);

        Assert.Equal(MappingStatus.Granted, outcome.Status);
        PortMapping entry = Assert.IsType<PortMapping>(_kernel.Find(TransportProtocol.Udp, 5000));
        Assert.Equal(s_host, entry.InternalAddress);
        Assert.Equal(TimeSpan.FromSeconds(600), entry.Timeout);

        // What the journal holds right now is what a kill -9 would leave behind.
        using var copy = new LeaseStore(CopyOfState(), fsync: false);
        Assert.Equal(5000, Assert.Single(copy.Load().Leases).ExternalPort);
    }

    [Fact]
    public async Task TableFlushed_RebuildRestoresEveryMapping()
    {
        await using Running run = await StartAsync();
        var (engine, state) = (run.Engine, run.State);
        await engine.RunAsync(Map(5000, 600), CancellationToken.None);
        await engine.RunAsync(Map(5001, 600), CancellationToken.None);

        _kernel.SimulateFlush();
        await engine.RequestRebuildAsync();

        Assert.True(_kernel.IsIntact());
        Assert.Equal(2, _kernel.Entries.Count);
        Assert.True(state.Current.KernelInSync);
    }

    [Fact]
    public async Task ApplyRefusedByKernel_FallsBackToRebuild()
    {
        await using Running run = await StartAsync();
        var (engine, _) = (run.Engine, run.State);
        _kernel.SimulateFlush(); // the next incremental apply fails
        MappingOutcome outcome = await engine.RunAsync(Map(5000, 600), CancellationToken.None);

        Assert.Equal(MappingStatus.Granted, outcome.Status);
        Assert.NotNull(_kernel.Find(TransportProtocol.Udp, 5000));
        Assert.Equal(2, _kernel.RebuildCount); // at start, and after the refused apply
    }

    [Fact]
    public async Task Restart_RestoresLiveLeasesOnlyAndKeepsTheEpoch()
    {
        Running first = await StartAsync();
        DateTimeOffset epochStart = first.State.Current.EpochStart;
        await first.Engine.RunAsync(Map(5000, 60), CancellationToken.None);
        await first.Engine.RunAsync(Map(5001, 6000), CancellationToken.None);
        await first.DisposeAsync();

        _time.Advance(TimeSpan.FromSeconds(120));
        _kernel.SimulateFlush();
        await using Running second = await StartAsync();

        Assert.Equal([(ushort)5001], second.Engine.Leases().Select(l => l.ExternalPort));
        Assert.Equal([(ushort)5001], _kernel.Entries.Select(e => e.ExternalPort));
        Assert.Equal(epochStart, second.State.Current.EpochStart);
        Assert.Equal(120u, GatewayState.EpochSeconds(second.State.Current, _time.GetUtcNow()));
    }

    [Fact]
    public async Task Restart_WithAnotherWanAddress_StartsANewEpoch()
    {
        await (await StartAsync()).DisposeAsync();

        _time.Advance(TimeSpan.FromSeconds(300));
        _inventory.Wan = IPAddress.Parse("203.0.113.9");
        await using Running second = await StartAsync();
        Assert.Equal(0u, GatewayState.EpochSeconds(second.State.Current, _time.GetUtcNow()));
    }

    [Fact]
    public async Task ExternalAddressChange_ResetsEpochMovesKernelAndAnnounces()
    {
        await using Running run = await StartAsync();
        var (engine, state) = (run.Engine, run.State);
        Assert.True(state.Announcements.TryRead(out _)); // the start-up announcement
        _time.Advance(TimeSpan.FromSeconds(50));

        Assert.True(await engine.SetExternalAddressAsync(IPAddress.Parse("198.51.100.7")));

        Assert.Equal(IPAddress.Parse("198.51.100.7"), _kernel.ExternalAddress);
        Assert.Equal(0u, GatewayState.EpochSeconds(state.Current, _time.GetUtcNow()));
        Assert.Equal("documentation (TEST-NET-2)", state.Current.ExternalAddressReservedKind);
        Assert.True(state.Announcements.TryRead(out GatewayStatus? announced));
        Assert.Equal(IPAddress.Parse("198.51.100.7"), announced.ExternalAddress);
        Assert.False(await engine.SetExternalAddressAsync(IPAddress.Parse("198.51.100.7")));
    }

    [Fact]
    public async Task Sweep_AfterExpiry_RemovesLeaseFromTableAndJournal()
    {
        await using Running run = await StartAsync();
        var (engine, state) = (run.Engine, run.State);
        await engine.RunAsync(Map(5000, 10), CancellationToken.None);
        Assert.Equal(1, state.Current.LeaseCount);

        _time.Advance(TimeSpan.FromSeconds(11)); // fires the sweep timer
        await engine.RequestRebuildAsync();      // a barrier: the sweep queued before it has run

        Assert.Empty(engine.Leases());
        Assert.Empty(_kernel.Entries);
        Assert.Equal(0, state.Current.LeaseCount);
        using var copy = new LeaseStore(CopyOfState(), fsync: false);
        Assert.Empty(copy.Load().Leases);
    }

    [Fact]
    public async Task Events_GrantedRenewedExpiredRevoked_FromTheEnginesBatches()
    {
        var errors = new List<string>();
        GatewayOptions options = GatewayConfiguration.Resolve(new GatewaySettings { StateDirectory = _dir.Path, Fsync = false }, _inventory, errors)!;
        using var events = new PortMapper.Gateway.Events.EventLog(null, _time);
        var state = new GatewayState(_time);
        using var store = new LeaseStore(_dir.Path, fsync: false);
        var engine = new MappingEngine(options, store, _kernel, state, new WanAddressSource(_inventory, options), _time, NullLogger<MappingEngine>.Instance, events: events);
        await engine.StartAsync(CancellationToken.None);
        try
        {
            await engine.RunAsync(Map(5000, 10), CancellationToken.None);
            await engine.RunAsync(Map(5000, 10), CancellationToken.None);
            await engine.RunAsync(Map(6000, 600), CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(11)); // the first lease runs out
            await engine.RequestRebuildAsync();
            Assert.True(await engine.RevokeAsync(engine.Leases().Single().Id));

            var seen = events.Since(0).Select(e => (e.Kind, e.ExternalPort)).ToList();
            Assert.Equal([("granted", (ushort?)5000), ("renewed", 5000), ("granted", 6000), ("expired", 5000), ("revoked", 6000)], seen);
            Assert.Equal("revoked through the admin endpoint", events.Since(0)[^1].Reason);
            Assert.All(events.Since(0), e => Assert.Equal(("udp", "natpmp", s_host.ToString()), (e.Protocol, e.Origin, e.InternalAddress)));
        }
        finally
        {
            await engine.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Revoke_UnknownId_False_KnownId_GoneFromKernel()
    {
        await using Running run = await StartAsync();
        var (engine, _) = (run.Engine, run.State);
        await engine.RunAsync(Map(5000, 600), CancellationToken.None);
        long id = engine.Leases().Single().Id;

        Assert.False(await engine.RevokeAsync(id + 100));
        Assert.True(await engine.RevokeAsync(id));
        Assert.Empty(_kernel.Entries);
    }

    [Fact]
    public async Task KernelRefusesOneLeaseOfABatch_OnlyThatRequestFails_OthersStay()
    {
        await using Running run = await StartAsync();
        MappingEngine engine = run.Engine;
        await engine.RunAsync(Map(4000, 600), CancellationToken.None);
        _kernel.Refuses = m => m.ExternalPort == 5001;

        // Three requests queued together: one batch, one kernel transaction, which the kernel refuses.
        Task<MappingOutcome>[] requests = [.. new ushort[] { 5000, 5001, 5002 }.Select(p => engine.RunAsync(Map(p, 600), CancellationToken.None))];
        MappingOutcome[] outcomes = await Task.WhenAll(requests);

        Assert.Equal([MappingStatus.Granted, MappingStatus.KernelRefused, MappingStatus.Granted], outcomes.Select(o => o.Status));
        Assert.Equal(new ushort[] { 4000, 5000, 5002 }, _kernel.Entries.Select(e => e.ExternalPort).Order());
        Assert.Equal(new ushort[] { 4000, 5000, 5002 }, engine.Leases().Select(l => l.ExternalPort).Order());
        Assert.True(run.State.Current.KernelInSync);

        // The refused lease is journaled as removed: a restart does not bring it back.
        using var copy = new LeaseStore(CopyOfState(), fsync: false);
        Assert.Equal(new ushort[] { 4000, 5000, 5002 }, copy.Load().Leases.Select(l => l.ExternalPort).Order());
    }

    [Fact]
    public async Task RebuildAfterFlush_WithALeaseTheKernelRefuses_ReinstallsEveryOther()
    {
        await using Running run = await StartAsync();
        for (ushort port = 5000; port < 5010; port++)
        {
            await run.Engine.RunAsync(Map(port, 600), CancellationToken.None);
        }

        _kernel.Refuses = m => m.ExternalPort is 5003 or 5007;
        _kernel.SimulateFlush();
        await run.Engine.RequestRebuildAsync();

        Assert.True(_kernel.IsIntact());
        Assert.Equal(8, _kernel.Entries.Count);
        Assert.DoesNotContain(_kernel.Entries, e => e.ExternalPort is 5003 or 5007);
        Assert.Equal(8, run.Engine.Leases().Count);
        Assert.True(run.State.Current.KernelInSync);
    }

    [Fact]
    public async Task KernelRefusingEverything_KeepsItsPreviousState_AndTheLeases()
    {
        await using Running run = await StartAsync();
        await run.Engine.RunAsync(Map(5000, 600), CancellationToken.None);
        _kernel.Unavailable = true;
        MappingOutcome outcome = await run.Engine.RunAsync(Map(5001, 600), CancellationToken.None);

        // Not a lease's fault: nothing is removed, the kernel keeps what it had, and the status says it is behind.
        Assert.Equal(MappingStatus.Granted, outcome.Status);
        Assert.Equal([(ushort)5000], _kernel.Entries.Select(e => e.ExternalPort));
        Assert.Equal(2, run.Engine.Leases().Count);
        Assert.False(run.State.Current.KernelInSync);

        _kernel.Unavailable = false;
        await run.Engine.RequestRebuildAsync();
        Assert.Equal(new ushort[] { 5000, 5001 }, _kernel.Entries.Select(e => e.ExternalPort).Order());
        Assert.True(run.State.Current.KernelInSync);
    }

    [Fact]
    public async Task Start_WithALeaseTheKernelNowRefuses_DropsItAndStarts()
    {
        Running first = await StartAsync();
        await first.Engine.RunAsync(Map(5000, 600), CancellationToken.None);
        await first.Engine.RunAsync(Map(5001, 600), CancellationToken.None);
        await first.DisposeAsync();

        _kernel.Refuses = m => m.ExternalPort == 5000;
        _kernel.SimulateFlush();
        await using Running second = await StartAsync();

        Assert.Equal([(ushort)5001], second.Engine.Leases().Select(l => l.ExternalPort));
        Assert.Equal([(ushort)5001], _kernel.Entries.Select(e => e.ExternalPort));
        Assert.True(second.State.Current.KernelInSync);
        using var copy = new LeaseStore(CopyOfState(), fsync: false);
        Assert.Equal([(ushort)5001], copy.Load().Leases.Select(l => l.ExternalPort));
    }

    [Fact]
    public async Task Start_KernelAcceptingNothing_Throws()
    {
        _kernel.Unavailable = true;
        var (engine, _, store) = NewEngine();
        using (store)
        {
            await Assert.ThrowsAsync<FirewallException>(() => engine.StartAsync(CancellationToken.None));
        }
    }

    private string CopyOfState()
    {
        string copy = _dir.Path + "-copy";
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(_dir.Path, LeaseStore.FileName), Path.Combine(copy, LeaseStore.FileName), overwrite: true);
        return copy;
    }

    public void Dispose()
    {
        _dir.Dispose();
        if (Directory.Exists(_dir.Path + "-copy"))
        {
            Directory.Delete(_dir.Path + "-copy", recursive: true);
        }
    }
}
