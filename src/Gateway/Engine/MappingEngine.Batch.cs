using System.Diagnostics;
using System.Net;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Status;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Engine;

public sealed partial class MappingEngine
{
    private static readonly TimeSpan s_slowBatch = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan s_memoryCheckInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_trimInterval = TimeSpan.FromSeconds(30);
    private static readonly long s_memorySlack = 8L << 20;
    private DateTimeOffset _lastMemoryCheck;
    private DateTimeOffset _lastTrim = DateTimeOffset.MinValue;
    private long _versionAtTrim;
    private long _allocatedAtTrim;
    private long _allocatedAtCheck;

    private void ProcessBatch()
    {
        long started = Stopwatch.GetTimestamp();
        DateTimeOffset now = _time.GetUtcNow();
        bool rebuild = false;
        lock (_tableLock)
        {
            foreach (EngineWork work in _batch)
            {
                switch (work.Kind)
                {
                    case EngineWorkKind.Mapping:
                        work.Outcome = _table.Execute(work.Command, now, _changes);
                        break;
                    case EngineWorkKind.Revoke:
                        work.Succeeded = _table.Remove(work.LeaseId, _changes);
                        break;
                    case EngineWorkKind.Sweep:
                        _table.RemoveExpired(now, _changes);
                        ManageMemory(now);
                        break;
                    case EngineWorkKind.ExternalAddress:
                        work.Succeeded = ChangeExternalAddress(work.Address, now);
                        break;
                    case EngineWorkKind.Rebuild:
                        rebuild = true;
                        work.Succeeded = true;
                        break;
                    case EngineWorkKind.Reconfigure:
                        _table.Reconfigure(work.Options!.LeaseTable, work.Options.Policy);
                        _current = work.Options;
                        work.Succeeded = true;
                        break;
                }
            }

            NoteTableChanged();
        }

        // Durable first: once the journal has it, a crash cannot lose what is about to be acknowledged.
        _store.Record(_changes);
        _store.Flush();
        long journaled = Stopwatch.GetTimestamp();
        if (rebuild)
        {
            if (!_kernel.IsIntact())
            {
                Log.TableLost(_logger, _options.Settings.TableName, _table.Count);
            }

            Rebuild(now);
        }
        else
        {
            ApplyToKernel(now);
        }

        long programmed = Stopwatch.GetTimestamp();
        EndFlows();
        LogChanges(now);
        if (_store.ShouldCompact(_table.Count))
        {
            _store.Compact(_table.Leases, _state.Current.EpochStart, _state.Current.ExternalAddress, _table.NextId);
            Log.Compacted(_logger, _table.Count);
        }

        TimeSpan total = Stopwatch.GetElapsedTime(started);
        if (total > s_slowBatch)
        {
            Log.SlowBatch(_logger, _batch.Count, total.TotalMilliseconds, Stopwatch.GetElapsedTime(started, journaled).TotalMilliseconds,
                Stopwatch.GetElapsedTime(journaled, programmed).TotalMilliseconds, _table.Count);
        }

        // Status first, so whoever is answered sees it current.
        if (_state.Current.LeaseCount != _table.Count)
        {
            _state.Update(_state.Current with { LeaseCount = _table.Count });
        }

        foreach (EngineWork work in _batch)
        {
            work.Reply?.Invoke(work.Outcome);
            work.Done?.TrySetResult(work.Succeeded);
        }

        _batch.Clear();
        _changes.Clear();
    }

    /// <summary>
    /// Gives memory back: after a burst the GC keeps free regions committed (22 MB of them over a 7.7 MB heap
    /// was measured at 10,000 leases). When committed memory is well above what the heap needs, an aggressive
    /// collection decommits it; on a router RSS matters more than a few ms twice a minute.
    /// </summary>
    private void ManageMemory(DateTimeOffset now, bool force = false)
    {
        if (!force && now - _lastMemoryCheck < s_memoryCheckInterval)
        {
            return;
        }

        _lastMemoryCheck = now;
        GCMemoryInfo before = GC.GetGCMemoryInfo();
        bool bloated = before.TotalCommittedBytes > (2 * before.HeapSizeBytes) + s_memorySlack;

        // An idle daemon allocates nothing, so no collection updates the heap figure above: once the table has
        // been quiet for a check interval after changing, collect anyway, once.
        bool settledAfterChanges = _versionAtTrim != Version && now - _lastChange >= s_memoryCheckInterval
            && before.TotalCommittedBytes > before.HeapSizeBytes + s_memorySlack;

        // Work that leaves the table alone (the RTSP helper, HTTP) grows gen0 just as much: once the daemon has
        // allocated a good deal since the last trim and then gone quiet for a check interval, collect as well.
        long allocated = GC.GetTotalAllocatedBytes();
        bool settledAfterWork = allocated - _allocatedAtTrim > s_memorySlack && allocated - _allocatedAtCheck < s_memorySlack / 8;
        _allocatedAtCheck = allocated;
        if ((force || bloated || settledAfterChanges || settledAfterWork) && now - _lastTrim >= s_trimInterval)
        {
            _lastTrim = now;
            _versionAtTrim = Version;
            _allocatedAtTrim = allocated;
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            KernelBackend.Native.NativeMemory.Trim(); // and what glibc keeps of native buffers (libnftables, sockets)
            GCMemoryInfo after = GC.GetGCMemoryInfo();
            Log.MemoryTrimmed(_logger, before.TotalCommittedBytes / 1048576.0, after.TotalCommittedBytes / 1048576.0, after.HeapSizeBytes / 1048576.0,
                Environment.WorkingSet / 1048576.0, _table.Count);
        }
    }

    /// <summary>Hands the endpoints of leases that ended in this batch to the reaper, which ends their conntrack flows.</summary>
    private void EndFlows()
    {
        if (_reaper is null)
        {
            return;
        }

        IPAddress? external = _state.Current.ExternalAddress;
        FlowEndpoint[] ended = [.. _changes
            .Where(c => c.Kind is LeaseChangeKind.Removed or LeaseChangeKind.Expired)
            .Select(c => c.Lease)
            .Select(l => l.IsPinhole
                ? new FlowEndpoint(l.InternalAddress, (TransportProtocol)(byte)l.Protocol, l.InternalPort)
                : external is null ? default : new FlowEndpoint(external, (TransportProtocol)(byte)l.Protocol, l.ExternalPort))
            .Where(e => e.Address is not null)];
        _reaper.Submit(ended);
    }

    private void ApplyToKernel(DateTimeOffset now)
    {
        _firewallChanges.Clear();
        foreach (LeaseChange change in _changes)
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
                _firewallChanges.Add(new FirewallChange(k, ToMapping(change.Lease, now)));
            }
        }

        if (_firewallChanges.Count == 0)
        {
            return;
        }

        long started = Stopwatch.GetTimestamp();
        try
        {
            _kernel.Apply(_firewallChanges);
            _metrics.KernelOperation("apply", Stopwatch.GetElapsedTime(started));
        }
        catch (FirewallException e)
        {
            Log.ApplyFailed(_logger, e.Message);
            Rebuild(now);
        }
    }

    /// <summary>Makes the kernel hold exactly the live leases, in one transaction.</summary>
    private void Rebuild(DateTimeOffset now)
    {
        List<PortMapping> mappings;
        lock (_tableLock)
        {
            mappings = [.. _table.Leases.Where(l => l.IsLive(now)).Select(l => ToMapping(l, now))];
        }

        bool ok;
        long started = Stopwatch.GetTimestamp();
        try
        {
            _kernel.Rebuild(_state.Current.ExternalAddress, mappings);
            _metrics.KernelOperation("rebuild", Stopwatch.GetElapsedTime(started));
            ok = true;
        }
        catch (FirewallException e)
        {
            Log.RebuildFailed(_logger, e.Message);
            ok = false;
        }

        _state.Update(_state.Current with { KernelInSync = ok, LastReconcile = now, LeaseCount = mappings.Count });

        // A rebuild builds and parses text for every mapping: shed that at once.
        ManageMemory(now, force: true);
    }

    private bool ChangeExternalAddress(IPAddress? address, DateTimeOffset now)
    {
        GatewayStatus current = _state.Current;
        if (Equals(current.ExternalAddress, address))
        {
            return false;
        }

        Log.ExternalAddressChanged(_logger, current.ExternalAddress, address);
        ReportExternalAddress(address);

        // RFC 6886 §3.6: a new external address starts a new epoch, so clients notice and renew their mappings.
        _store.RecordEpoch(now, address);
        PublishStatus(address, now, current.KernelInSync);

        // One transaction moves everything: the DNAT match and the SNAT of PEER mappings name the address.
        Rebuild(now);
        _state.Announce(_state.Current);
        return true;
    }

    private void PublishStatus(IPAddress? external, DateTimeOffset epochStart, bool kernelInSync)
    {
        string? reserved = external is null ? null : AddressClassifier.ReservedKind(external);
        _state.Update(_state.Current with
        {
            ExternalAddress = external,
            ExternalAddressReservedKind = reserved,
            EpochStart = epochStart,
            KernelInSync = kernelInSync,
            LeaseCount = _table.Count,
        });
    }

    private void ReportExternalAddress(IPAddress? external)
    {
        Log.ExternalAddress(_logger, external, _options.WanInterface);
        if (external is not null && AddressClassifier.ReservedKind(external) is { } kind)
        {
            Log.ExternalAddressReserved(_logger, external, kind);
        }
    }

    private void LogChanges(DateTimeOffset now)
    {
        foreach (EngineWork work in _batch)
        {
            if (work.Kind == EngineWorkKind.Mapping && work.Outcome.Status is not (MappingStatus.Granted or MappingStatus.Deleted))
            {
                Log.MappingRefused(_logger, work.Command.Client, work.Command.Protocol, work.Command.InternalPort, work.Outcome.Status);
            }
        }

        if (!_logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
        {
            return;
        }

        foreach (LeaseChange change in _changes)
        {
            Lease l = change.Lease;
            if (change.Kind == LeaseChangeKind.Added)
            {
                Log.LeaseAdded(_logger, l.Origin, l.Protocol, l.ExternalPort, l.InternalAddress, l.InternalPort, l.SecondsLeft(now), l.Id);
            }
            else if (change.Kind != LeaseChangeKind.Renewed)
            {
                Log.LeaseEnded(_logger, l.Id, l.Protocol, l.ExternalPort, l.InternalAddress, l.InternalPort, change.Kind == LeaseChangeKind.Expired ? "expired" : "removed");
            }
        }
    }

    internal static PortMapping ToMapping(Lease lease, DateTimeOffset now) => new(
        (TransportProtocol)(byte)lease.Protocol,
        lease.ExternalPort,
        lease.InternalAddress,
        lease.InternalPort,
        lease.Expires - now,
        lease.Id,
        lease.Filters is { Count: > 0 } filters ? [.. filters.Select(f => new RemoteFilter(f.Network, f.Port))] : null,
        lease.RemotePeer);
}
