using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

/// <summary>
/// The single source of truth for every mapping, whatever protocol asked for it. Not thread-safe: the
/// <see cref="Engine.MappingEngine"/> is its only writer. Every mutation reports what changed so that the
/// store and the kernel can follow. What a request may have is decided by the table's <see cref="Admission"/>.
/// </summary>
public sealed partial class LeaseTable
{
    private readonly Admission _admission;
    private readonly Dictionary<long, Lease> _byId = [];
    private readonly Dictionary<(MappingProtocol, ushort), Lease> _byExternal = [];
    private readonly Dictionary<(MappingProtocol, IPAddress, ushort), Lease> _pinholes = [];
    private readonly Dictionary<(MappingProtocol, IPAddress, ushort, IPEndPoint), Lease> _peers = [];
    private readonly Dictionary<IPAddress, List<Lease>> _byClient = [];
    private readonly Dictionary<DeviceId, List<Lease>> _byDevice = [];
    private readonly Dictionary<ushort, long> _pinholeIds = [];
    private readonly PriorityQueue<long, DateTimeOffset> _expiry = new();

    /// <summary>What <see cref="Restore"/> says of a lease whose time ran out while the daemon was stopped.</summary>
    public const string ExpiredReason = "expired";

    public LeaseTable(Admission admission, long nextId = 1)
    {
        _admission = admission;
        NextId = nextId;
    }

    public LeaseTable(LeaseTableOptions options, Policy policy, long nextId = 1)
        : this(new Admission(options, policy), nextId)
    {
    }

    public long NextId { get; private set; }

    public Admission Admission => _admission;

    public int Count => _byId.Count;

    public IEnumerable<Lease> Leases => _byId.Values;

    public Lease? Find(long id) => _byId.GetValueOrDefault(id);

    public Lease? FindByExternal(MappingProtocol protocol, ushort externalPort) => _byExternal.GetValueOrDefault((protocol, externalPort));

    public Lease? FindPinhole(MappingProtocol protocol, IPAddress internalAddress, ushort internalPort) =>
        _pinholes.GetValueOrDefault((protocol, internalAddress, internalPort));

    /// <summary>The live pinhole with this UPnP UniqueID (the low 16 bits of its id): at most one lives at a time.</summary>
    public Lease? FindPinhole(ushort uniqueId, DateTimeOffset now) =>
        _pinholeIds.TryGetValue(uniqueId, out long id) && _byId.TryGetValue(id, out Lease? lease) && lease.IsLive(now) ? lease : null;

    /// <summary>Live leases of a device, over all its addresses.</summary>
    public int DeviceLeaseCount(DeviceId device, DateTimeOffset now) =>
        _byDevice.TryGetValue(device, out var list) ? list.Count(l => l.IsLive(now)) : 0;

    /// <summary>
    /// Puts back a lease read from the store, if admission still grants it: not expired, its ports free, not a
    /// port of the gateway, permitted by the policy of now, its filters such as the kernel holds. Returns the
    /// reason when it does not.
    /// </summary>
    public string? Restore(Lease lease, DateTimeOffset now)
    {
        NextId = Math.Max(NextId, lease.Id + 1);
        string? refused = !lease.IsLive(now) ? ExpiredReason
            : lease.IsPinhole ? (_pinholes.ContainsKey(PinholeKey(lease)) ? "pinhole taken"
                : _pinholeIds.ContainsKey((ushort)lease.Id) ? "its UPnP UniqueID is another live pinhole's"
                : !_admission.MayOpenPinhole(lease.InternalAddress, lease.InternalPort) ? "policy" : null)
            : _byExternal.ContainsKey((lease.Protocol, lease.ExternalPort)) ? "the port is already held"
            : _admission.CheckExternalPort(lease.Protocol, lease.ExternalPort, lease.InternalAddress, lease.InternalPort) switch
            {
                MappingStatus.Granted => null,
                MappingStatus.ConflictWithOtherMechanism => "the port is the gateway's",
                _ => "policy",
            };
        refused ??= lease.RemotePeer is { } peer && _peers.ContainsKey(PeerKey(lease, peer)) ? "peer mapping taken"
            : lease.FilterList.Count > 0 && !FiltersFit(lease.InternalEndpoint, lease.FilterList, lease.Id) ? "filters overlap another mapping's"
            : _admission.CheckQuota(0, Count) != MappingStatus.Granted ? "total lease limit" : null;
        if (refused is not null)
        {
            return refused;
        }

        if (lease.FilterList.Count > 0)
        {
            lease = lease with { Filters = FilterSet.Normalize(lease.FilterList) };
        }

        Index(lease);
        return null;
    }

    /// <summary>Runs a request from the device its client address stands for (no link-layer address known).</summary>
    public MappingOutcome Execute(in MappingCommand command, DateTimeOffset now, List<LeaseChange> changes) =>
        Execute(command, DeviceId.OfAddress(command.Client), now, changes);

    /// <summary>Runs a request; <paramref name="device"/> is the device that sent it, whose quota it counts against.</summary>
    public MappingOutcome Execute(in MappingCommand command, DeviceId device, DateTimeOffset now, List<LeaseChange> changes) => command.Kind switch
    {
        MappingCommandKind.Map or MappingCommandKind.Peer when command.RequestedLifetimeSeconds > 0 || command.Permanent => Map(command, device, now, changes),
        MappingCommandKind.Map or MappingCommandKind.Peer => Delete(command, now, changes),
        MappingCommandKind.Delete => Delete(command, now, changes),
        MappingCommandKind.DeleteAll => DeleteAll(command, changes),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.Kind, "unknown command"),
    };

    /// <summary>Removes one lease by id (admin revocation, or a lease the kernel refused).</summary>
    public bool Remove(long id, List<LeaseChange> changes)
    {
        if (!_byId.TryGetValue(id, out Lease? lease))
        {
            return false;
        }

        Unindex(lease);
        changes.Add(new LeaseChange(LeaseChangeKind.Removed, lease));
        return true;
    }

    /// <summary>Drops every lease whose time is up.</summary>
    public void RemoveExpired(DateTimeOffset now, List<LeaseChange> changes)
    {
        while (_expiry.TryPeek(out long id, out DateTimeOffset when) && when <= now)
        {
            _expiry.Dequeue();

            // The queue keeps stale entries of renewed or removed leases; only a match on the current expiry counts.
            if (_byId.TryGetValue(id, out Lease? lease) && lease.Expires == when)
            {
                Unindex(lease);
                changes.Add(new LeaseChange(LeaseChangeKind.Expired, lease));
            }
        }
    }

    public DateTimeOffset? NextExpiry => _expiry.TryPeek(out _, out DateTimeOffset when) ? when : null;

    private static (MappingProtocol, IPAddress, ushort) PinholeKey(Lease lease) => (lease.Protocol, lease.InternalAddress, lease.InternalPort);

    private static (MappingProtocol, IPAddress, ushort, IPEndPoint) PeerKey(Lease lease, IPEndPoint peer) => (lease.Protocol, lease.InternalAddress, lease.InternalPort, peer);

    private void Index(Lease lease)
    {
        _byId.Add(lease.Id, lease);
        if (lease.IsPinhole)
        {
            _pinholes.Add(PinholeKey(lease), lease);
            _pinholeIds.Add((ushort)lease.Id, lease.Id);
        }
        else
        {
            _byExternal.Add((lease.Protocol, lease.ExternalPort), lease);
        }

        if (lease.RemotePeer is { } peer)
        {
            _peers[PeerKey(lease, peer)] = lease;
        }

        Add(_byClient, lease.Client, lease);
        Add(_byDevice, lease.Owner, lease);
        if (lease.Expires is { } expires)
        {
            Schedule(lease.Id, expires);
        }
    }

    private void Unindex(Lease lease)
    {
        _byId.Remove(lease.Id);
        if (lease.IsPinhole)
        {
            _pinholes.Remove(PinholeKey(lease));
            _pinholeIds.Remove((ushort)lease.Id);
        }
        else
        {
            _byExternal.Remove((lease.Protocol, lease.ExternalPort));
        }

        if (lease.RemotePeer is { } peer)
        {
            _peers.Remove(PeerKey(lease, peer));
        }

        RemoveFrom(_byClient, lease.Client, lease);
        RemoveFrom(_byDevice, lease.Owner, lease);
    }

    private void Replace(Lease old, Lease renewed)
    {
        _byId[old.Id] = renewed;
        if (renewed.IsPinhole)
        {
            _pinholes[PinholeKey(renewed)] = renewed;
        }
        else
        {
            _byExternal[(old.Protocol, old.ExternalPort)] = renewed;
        }

        if (renewed.RemotePeer is { } peer)
        {
            _peers[PeerKey(renewed, peer)] = renewed;
        }

        List<Lease> list = _byClient[old.Client];
        list[list.IndexOf(old)] = renewed;
        List<Lease> own = _byDevice[old.Owner];
        own[own.IndexOf(old)] = renewed;
        if (renewed.Expires is { } expires)
        {
            Schedule(renewed.Id, expires);
        }
    }

    /// <summary>
    /// Queues an expiry. Renewals and removals leave their old entries behind until those come due (up to a lease's
    /// lifetime later): once the stale ones outnumber the live, the queue is rebuilt from the leases themselves, so it
    /// holds at most about twice the table and its array does not stay at the size of the busiest hour.
    /// </summary>
    private void Schedule(long id, DateTimeOffset expires)
    {
        _expiry.Enqueue(id, expires);
        if (_expiry.Count > (2 * _byId.Count) + 1024)
        {
            _expiry.Clear();
            _expiry.TrimExcess();
            _expiry.EnqueueRange(_byId.Values.Where(l => l.Expires is not null).Select(l => (l.Id, l.Expires!.Value)));
        }
    }

    /// <summary>Entries in the expiry queue, stale ones included (for tests).</summary>
    internal int ExpiryQueueLength => _expiry.Count;

    private static void Add<TKey>(Dictionary<TKey, List<Lease>> index, TKey key, Lease lease)
        where TKey : notnull
    {
        if (!index.TryGetValue(key, out var list))
        {
            list = [];
            index.Add(key, list);
        }

        list.Add(lease);
    }

    private static void RemoveFrom<TKey>(Dictionary<TKey, List<Lease>> index, TKey key, Lease lease)
        where TKey : notnull
    {
        if (index.TryGetValue(key, out var list))
        {
            list.Remove(lease);
            if (list.Count == 0)
            {
                index.Remove(key);
            }
        }
    }
}
