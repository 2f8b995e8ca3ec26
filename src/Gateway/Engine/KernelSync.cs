using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Engine;

/// <summary>
/// Makes the kernel follow the lease table, and keeps one lease the kernel refuses from taking the others down.
/// A batch goes in as one transaction; when the kernel refuses it, the table is rebuilt, and when the rebuild is
/// refused too, the fault is isolated: the table is installed without mappings (if even that fails, the cause is
/// not a lease, and the kernel keeps its previous state), then the leases are added back in halves, each half
/// one transaction, down to the single leases the kernel will not hold. Those are reported for the engine to
/// remove; every other lease is in the kernel again within the same pass.
/// Called from the engine's loop only.
/// </summary>
public sealed class KernelSync
{
    private readonly IFirewallBackend _kernel;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly List<FirewallChange> _pending = [];

    public KernelSync(IFirewallBackend kernel, GatewayMetrics metrics, ILogger logger)
    {
        _kernel = kernel;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>What identifies the kernel's state as the daemon leaves it; null when the backend cannot tell.</summary>
    public string? Stamp(IPAddress? external) => _kernel.Stamp(external);

    /// <summary>Takes over the table a previous run left (see <see cref="IFirewallBackend.Adopt"/>) with exactly the live leases; else why not.</summary>
    public string? Adopt(uint? generationAtStart, string stamp, IReadOnlyCollection<Lease> leases, IPAddress? external, DateTimeOffset now)
    {
        long started = Stopwatch.GetTimestamp();
        string? refusal = _kernel.Adopt(generationAtStart, stamp, external, LiveMappings(leases, now));
        if (refusal is null)
        {
            _metrics.KernelOperation("adopt", Stopwatch.GetElapsedTime(started));
        }

        return refusal;
    }

    /// <summary>Whether the daemon's table and rules are all there (false after a firewall reload).</summary>
    public bool IsIntact() => _kernel.IsIntact();

    /// <summary>Applies one batch's changes; falls back to <see cref="Rebuild"/> of the live leases when refused.</summary>
    public KernelSyncResult Apply(IReadOnlyList<LeaseChange> changes, Func<IReadOnlyCollection<Lease>> live, IPAddress? external, DateTimeOffset now)
    {
        _pending.Clear();
        foreach (LeaseChange change in changes)
        {
            FirewallChangeKind? kind = change.Kind switch
            {
                LeaseChangeKind.Added => FirewallChangeKind.Add,
                LeaseChangeKind.Renewed => FirewallChangeKind.Replace,
                LeaseChangeKind.Removed => FirewallChangeKind.Remove,
                _ => null, // expired: the kernel has timed the entry out by itself
            };
            if (kind is { } k)
            {
                _pending.Add(new FirewallChange(k, ToMapping(change.Lease, now)));
            }
        }

        if (_pending.Count == 0)
        {
            return KernelSyncResult.InSync;
        }

        long started = Stopwatch.GetTimestamp();
        try
        {
            _kernel.Apply(_pending);
            _metrics.KernelOperation("apply", Stopwatch.GetElapsedTime(started));
            return KernelSyncResult.InSync;
        }
        catch (FirewallException e)
        {
            Log.ApplyFailed(_logger, e.Message);
            return Rebuild(live(), external, now);
        }
        finally
        {
            _pending.Clear();
        }
    }

    /// <summary>Makes the kernel hold exactly these leases (those live at <paramref name="now"/>), leaving out any it refuses.</summary>
    public KernelSyncResult Rebuild(IReadOnlyCollection<Lease> leases, IPAddress? external, DateTimeOffset now)
    {
        List<PortMapping> mappings = LiveMappings(leases, now);
        long started = Stopwatch.GetTimestamp();
        try
        {
            _kernel.Rebuild(external, mappings);
            _metrics.KernelOperation("rebuild", Stopwatch.GetElapsedTime(started));
            return KernelSyncResult.InSync;
        }
        catch (FirewallException e)
        {
            Log.RebuildFailed(_logger, e.Message);
        }

        try
        {
            _kernel.Rebuild(external, []);
        }
        catch (FirewallException e)
        {
            Log.KernelUnavailable(_logger, e.Message);
            return new KernelSyncResult(false, []);
        }

        var refused = new List<long>();
        AddBack(mappings, refused);
        _metrics.KernelOperation("isolate", Stopwatch.GetElapsedTime(started));
        return new KernelSyncResult(true, refused);
    }

    /// <summary>Adds mappings to a table that holds the accepted ones so far: all at once, or by halves until one is alone.</summary>
    private void AddBack(List<PortMapping> mappings, List<long> refused)
    {
        if (mappings.Count == 0)
        {
            return;
        }

        try
        {
            _kernel.Apply([.. mappings.Select(m => new FirewallChange(FirewallChangeKind.Add, m))]);
        }
        catch (FirewallException)
        {
            if (mappings.Count == 1)
            {
                refused.Add(mappings[0].Id);
                return;
            }

            int half = mappings.Count / 2;
            AddBack(mappings[..half], refused);
            AddBack(mappings[half..], refused);
        }
    }

    private static List<PortMapping> LiveMappings(IReadOnlyCollection<Lease> leases, DateTimeOffset now) => [.. leases.Where(l => l.IsLive(now)).Select(l => ToMapping(l, now))];

    public static PortMapping ToMapping(Lease lease, DateTimeOffset now) => new(
        (TransportProtocol)(byte)lease.Protocol,
        lease.ExternalPort,
        lease.InternalAddress,
        lease.InternalPort,
        lease.Expires - now,
        lease.Id,
        lease.Filters is { Count: > 0 } filters ? [.. filters.Select(f => new RemoteFilter(f.Network, f.Port))] : null,
        lease.RemotePeer);
}

/// <summary>What a sync left: whether the kernel holds the table, and the leases it would not hold (to be removed).</summary>
public sealed record KernelSyncResult(bool Synced, IReadOnlyList<long> Refused)
{
    public static readonly KernelSyncResult InSync = new(true, []);
}
