using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace PortMapper.KernelBackend.Tests;

public class InMemoryFirewallBackendTests
{
    private static readonly PortMapping s_map = new(TransportProtocol.Tcp, 8080, IPAddress.Parse("192.168.77.10"), 80, TimeSpan.FromSeconds(10), Id: 1);

    [Fact]
    public void Apply_BatchWithOneBadChange_AppliesNothing()
    {
        var backend = new InMemoryFirewallBackend(new FakeTimeProvider());
        backend.Rebuild(null, []);
        var other = s_map with { ExternalPort = 9000, Id = 2 };
        Assert.Throws<FirewallException>(() => backend.Apply([new(FirewallChangeKind.Add, other), new(FirewallChangeKind.Remove, s_map)]));
        Assert.Empty(backend.Entries);
    }

    [Fact]
    public void Entry_AfterTimeout_IsGone()
    {
        var time = new FakeTimeProvider();
        var backend = new InMemoryFirewallBackend(time);
        backend.Rebuild(null, [s_map]);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.NotNull(backend.Find(TransportProtocol.Tcp, 8080));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(backend.Find(TransportProtocol.Tcp, 8080));
    }

    [Fact]
    public void Apply_AfterFlush_Throws()
    {
        var backend = new InMemoryFirewallBackend(new FakeTimeProvider());
        backend.Rebuild(null, [s_map]);
        backend.SimulateFlush();
        Assert.False(backend.IsIntact());
        Assert.Throws<FirewallException>(() => backend.Apply([new(FirewallChangeKind.Remove, s_map)]));
    }
}
