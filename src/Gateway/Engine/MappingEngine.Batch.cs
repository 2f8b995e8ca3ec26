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

    private void ProcessBatch()
    {
        long started = Stopwatch.GetTimestamp();
        DateTimeOffset now = _time.GetUtcNow();
        bool rebuild = false;
        bool announce = false;

        // The gateway's own ports are read afresh for each batch (lazily, by the first request that needs them).
        _admission.Refresh();

        // While the journal cannot be written (a full disk), nothing new is granted: it could not be made durable.
        // Deletes, revokes and expiry go on in memory and in the kernel; their records wait for the disk.
        if (_store.Failing && _store.TryResume(_table.NextId))
        {
            Log.JournalResumed(_logger, _options.Settings.StateDirectory);
        }

        bool journalWritable = !_store.Failing;
        lock (_tableLock)
        {
            foreach (EngineWork work in _batch)
            {
                work.FirstChange = _changes.Count;
                switch (work.Kind)
                {
                    case EngineWorkKind.Mapping when !journalWritable && work.Command.Kind is MappingCommandKind.Map or MappingCommandKind.Peer:
                        _admission.NoteAsked(work.Device, work.Command.Client);
                        work.Outcome = MappingOutcome.Denied(MappingStatus.NoResources);
                        break;
                    case EngineWorkKind.Mapping:
                        _admission.NoteAsked(work.Device, work.Command.Client);
                        work.Outcome = _table.Execute(work.Command, work.Device, now, _changes);
                        break;
                    case EngineWorkKind.Revoke:
                        work.Succeeded = _table.Remove(work.LeaseId, _changes);
                        break;
                    case EngineWorkKind.Sweep:
                        _table.RemoveExpired(now, _changes);
                        _trimmer.Check(now, Version, _lastChange, _table.Count);
                        break;
                    case EngineWorkKind.ExternalAddress:
                        work.Succeeded = ChangeExternalAddress(work.Address, now);
                        rebuild |= work.Succeeded;
                        announce |= work.Succeeded;
                        break;
                    case EngineWorkKind.Rebuild:
                        rebuild = true;
                        work.Succeeded = true;
                        break;
                    case EngineWorkKind.Reconfigure:
                        _admission.Reconfigure(work.Options!.LeaseTable, work.Options.Policy);
                        _current = work.Options;
                        RevokeDenied();
                        work.Succeeded = true;
                        break;
                    case EngineWorkKind.EnforceDevices:
                        work.Succeeded = RevokeDenied() > 0;
                        break;
                    case EngineWorkKind.Upstream:
                        work.Succeeded = ChangeUpstream(work.Upstream!, work.Address, work.Restart, now);
                        announce |= work.Succeeded;
                        break;
                }

                work.EndChange = _changes.Count;
            }

            NoteTableChanged();
        }

        // Durable first: once the journal has it, a crash cannot lose what is about to be acknowledged.
        _store.Record(_changes);
        HashSet<long>? undone = null;
        if (!_store.Flush())
        {
            if (journalWritable)
            {
                Log.JournalFailing(_logger, _options.Settings.StateDirectory, _store.FailureReason ?? "write failed");
            }

            undone = RollBackUnjournaled();
        }

        long journaled = Stopwatch.GetTimestamp();
        int requested = _changes.Count;
        IReadOnlyList<LeaseChange> toKernel = undone is { Count: > 0 } ? [.. _changes.Where(c => !undone.Contains(c.Lease.Id))] : _changes;
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
            Settle(_kernel.Apply(toKernel, LiveLeases, _state.Current.ExternalAddress, now), now, rebuilt: false);
        }

        if (_changes.Count > requested)
        {
            // Leases the kernel refused are gone from the table: journal that, and fail the requests that made them.
            _store.Record(_changes[requested..]);
            _store.Flush();
            FailRefused(requested);
        }

        if (announce)
        {
            _state.Announce(_state.Current);
        }

        long programmed = Stopwatch.GetTimestamp();
        _reaper?.SubmitEnded(_changes, _state.Current.ExternalAddress);
        _upstream?.Observe(_changes);
        BatchLog.Write(_logger, _batch, _changes, now);
        if (_events is not null)
        {
            BatchEvents.Publish(_events, _devices, _batch, _changes, now);
            _events.Flush();
        }

        if (!_store.Failing && _store.ShouldCompact(_table.Count)
            && _store.Compact(_table.Leases, _state.Current.EpochStart, _state.Current.ExternalAddress, _table.NextId))
        {
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
            if (work.Reply is not null && _upstream is { Active: true } && work.Outcome.Status == MappingStatus.Granted && GrantedLease(work) is { } granted)
            {
                // Carried through to the upstream gateway: the client hears once the upstream has answered.
                _upstream.Reply(granted.Id, granted.Added, work.Command.PreferFailure, work.Outcome, work.Reply);
            }
            else
            {
                work.Reply?.Invoke(work.Outcome);
            }

            work.Done?.TrySetResult(work.Succeeded);
        }

        _batch.Clear();
        _changes.Clear();
        _trimmer.AfterBatch();
    }

    /// <summary>
    /// The journal could not take this batch, so what it granted is not durable and is not acknowledged: requests
    /// that added or renewed a lease get <see cref="MappingStatus.NoResources"/>, and the leases they added are
    /// removed again (the kernel never sees them; their records wait, with the removals, for the disk). A renewed
    /// lease keeps its new expiry in memory, but its client is told the renewal failed, so no promise outlives a crash.
    /// </summary>
    private HashSet<long> RollBackUnjournaled()
    {
        var added = new HashSet<long>();
        foreach (EngineWork work in _batch)
        {
            if (work.Kind != EngineWorkKind.Mapping || work.Outcome.Status != MappingStatus.Granted)
            {
                continue;
            }

            bool granted = false;
            for (int i = work.FirstChange; i < work.EndChange; i++)
            {
                granted |= _changes[i].Kind is LeaseChangeKind.Added or LeaseChangeKind.Renewed;
                if (_changes[i].Kind == LeaseChangeKind.Added)
                {
                    added.Add(_changes[i].Lease.Id);
                }
            }

            if (granted)
            {
                work.Outcome = MappingOutcome.Denied(MappingStatus.NoResources);
            }
        }

        int first = _changes.Count;
        lock (_tableLock)
        {
            foreach (long id in added)
            {
                _table.Remove(id, _changes);
            }

            NoteTableChanged();
        }

        _store.Record(_changes[first..]);
        return added;
    }

    /// <summary>The lease a granted mapping request added or renewed, if any.</summary>
    private (long Id, bool Added)? GrantedLease(EngineWork work)
    {
        for (int i = work.FirstChange; i < work.EndChange && i < _changes.Count; i++)
        {
            if (_changes[i].Kind is LeaseChangeKind.Added or LeaseChangeKind.Renewed)
            {
                return (_changes[i].Lease.Id, _changes[i].Kind == LeaseChangeKind.Added);
            }
        }

        return null;
    }

    /// <summary>Removes the leases of devices that may no longer map ports (a permission set to deny, a new rule).</summary>
    private int RevokeDenied()
    {
        List<Lease> denied = [.. _table.Leases.Where(l => !_admission.DevicePermits(l.Owner, l.Client))];
        foreach (Lease lease in denied)
        {
            _table.Remove(lease.Id, _changes);
            Log.DeviceLeaseRevoked(_logger, lease.Id, lease.Owner.ToString(), lease.Protocol, lease.ExternalPort);
        }

        return denied.Count;
    }

    /// <summary>A mapping request whose added or renewed lease the kernel refused gets <see cref="MappingStatus.KernelRefused"/>.</summary>
    private void FailRefused(int firstRemoval)
    {
        var refused = new HashSet<long>(_changes.Skip(firstRemoval).Select(c => c.Lease.Id));
        foreach (EngineWork work in _batch)
        {
            if (work.Kind == EngineWorkKind.Mapping && work.Outcome.Status == MappingStatus.Granted
                && _changes.Skip(work.FirstChange).Take(work.EndChange - work.FirstChange)
                    .Any(c => c.Kind is LeaseChangeKind.Added or LeaseChangeKind.Renewed && refused.Contains(c.Lease.Id)))
            {
                work.Outcome = MappingOutcome.Denied(MappingStatus.KernelRefused);
            }
        }
    }

    /// <summary>Makes the kernel hold exactly the live leases, in one transaction; leases it refuses are removed.</summary>
    private void Rebuild(DateTimeOffset now) => Settle(_kernel.Rebuild(LiveLeases(), _state.Current.ExternalAddress, now), now, rebuilt: true);

    /// <summary>A copy of the table's leases, taken only when the kernel needs them all (a rebuild).</summary>
    private List<Lease> LiveLeases()
    {
        lock (_tableLock)
        {
            return [.. _table.Leases];
        }
    }

    /// <summary>Removes from the table the leases the kernel would not hold (their removals join this batch's changes).</summary>
    private void Settle(KernelSyncResult result, DateTimeOffset now, bool rebuilt)
    {
        if (result.Refused.Count > 0)
        {
            lock (_tableLock)
            {
                foreach (long id in result.Refused)
                {
                    if (_table.Find(id) is { } lease && _table.Remove(id, _changes))
                    {
                        Log.KernelRefusedLease(_logger, id, lease.Protocol, lease.ExternalPort, lease.InternalAddress, lease.InternalPort);
                    }
                }

                NoteTableChanged();
            }
        }

        if (rebuilt || result.Refused.Count > 0 || !result.Synced)
        {
            _state.Update(_state.Current with { KernelInSync = result.Synced, LastReconcile = now, LeaseCount = _table.Count });
        }

        if (rebuilt)
        {
            // A rebuild builds and parses text for every mapping: shed that at once.
            _trimmer.Check(now, Version, _lastChange, _table.Count, force: true);
        }
    }

}
