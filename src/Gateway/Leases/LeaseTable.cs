using System.Net;
using System.Net.Sockets;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

/// <summary>
/// The single source of truth for every mapping, whatever protocol asked for it. Not thread-safe: the
/// <see cref="Engine.MappingEngine"/> is its only writer. Every mutation reports what changed so that the
/// store and the kernel can follow.
/// </summary>
public sealed partial class LeaseTable
{
    private LeaseTableOptions _options;
    private Policy _policy;
    private readonly Dictionary<long, Lease> _byId = [];
    private readonly Dictionary<(MappingProtocol, ushort), Lease> _byExternal = [];
    private readonly Dictionary<(MappingProtocol, IPAddress, ushort), Lease> _pinholes = [];
    private readonly Dictionary<IPAddress, List<Lease>> _byClient = [];
    private readonly PriorityQueue<long, DateTimeOffset> _expiry = new();

    public const uint UpnpMaxLifetimeSeconds = 604800;

    public LeaseTable(LeaseTableOptions options, Policy policy, long nextId = 1)
    {
        _options = options;
        _policy = policy;
        NextId = nextId;
    }

    public long NextId { get; private set; }

    /// <summary>New limits and policy for requests from now on (a configuration reload); leases already granted stay.</summary>
    public void Reconfigure(LeaseTableOptions options, Policy policy)
    {
        _options = options;
        _policy = policy;
    }

    public int Count => _byId.Count;

    public IEnumerable<Lease> Leases => _byId.Values;

    public Lease? Find(long id) => _byId.GetValueOrDefault(id);

    public Lease? FindByExternal(MappingProtocol protocol, ushort externalPort) => _byExternal.GetValueOrDefault((protocol, externalPort));

    public Lease? FindPinhole(MappingProtocol protocol, IPAddress internalAddress, ushort internalPort) =>
        _pinholes.GetValueOrDefault((protocol, internalAddress, internalPort));

    /// <summary>Puts back a lease read from the store. Expired leases are not restored.</summary>
    public bool Restore(Lease lease, DateTimeOffset now)
    {
        NextId = Math.Max(NextId, lease.Id + 1);
        if (!lease.IsLive(now) || (lease.IsPinhole ? _pinholes.ContainsKey(PinholeKey(lease)) : _byExternal.ContainsKey((lease.Protocol, lease.ExternalPort))))
        {
            return false;
        }

        Index(lease);
        return true;
    }

    public MappingOutcome Execute(in MappingCommand command, DateTimeOffset now, List<LeaseChange> changes) => command.Kind switch
    {
        MappingCommandKind.Map or MappingCommandKind.Peer when command.RequestedLifetimeSeconds > 0 || command.Permanent => Map(command, now, changes),
        MappingCommandKind.Map or MappingCommandKind.Peer => Delete(command, now, changes),
        MappingCommandKind.Delete => Delete(command, now, changes),
        MappingCommandKind.DeleteAll => DeleteAll(command, changes),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.Kind, "unknown command"),
    };

    /// <summary>Removes one lease by id (admin revocation).</summary>
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

    private MappingOutcome Map(in MappingCommand command, DateTimeOffset now, List<LeaseChange> changes)
    {
        if (_options.SecureMode && !command.ThirdPartyAuthorized && !command.Client.Equals(command.InternalAddress))
        {
            return MappingOutcome.Denied(MappingStatus.NotAuthorized);
        }

        // UPnP has its own ceiling: IGD:2 leases run up to 604800 s (WANIPConnection:2 §2.3.16).
        uint max = command.Origin == MappingOrigin.Upnp ? UpnpMaxLifetimeSeconds : _options.MaxLifetimeSeconds;
        uint lifetime = command.Permanent ? 0 : Math.Min(command.RequestedLifetimeSeconds, max);
        DateTimeOffset? expires = command.Permanent ? null : now.AddSeconds(lifetime);

        Lease? existing = FindOwn(command, now);
        if (existing is not null)
        {
            // RFC 6887 §11.3: a request for an existing mapping with another nonce is refused.
            if (!SameNonce(existing, command))
            {
                return MappingOutcome.Denied(MappingStatus.NotAuthorized);
            }

            Lease renewed = existing with { Expires = expires, Filters = command.Filters ?? existing.Filters, Description = command.Description };
            Replace(existing, renewed);
            changes.Add(new LeaseChange(LeaseChangeKind.Renewed, renewed));
            return new MappingOutcome(MappingStatus.Granted, renewed.ExternalPort, lifetime);
        }

        if (LiveCount(command.Client, now) >= _options.MaxLeasesPerClient)
        {
            return MappingOutcome.Denied(MappingStatus.QuotaExceeded);
        }

        if (!_policy.MayPermit(command.InternalAddress, command.InternalPort))
        {
            return MappingOutcome.Denied(MappingStatus.NotAuthorized);
        }

        MappingStatus allocation = command.InternalAddress.AddressFamily == AddressFamily.InterNetworkV6
            ? ClaimPinhole(command, now, changes, out ushort externalPort)
            : AllocateExternalPort(command, now, changes, out externalPort);
        if (allocation != MappingStatus.Granted)
        {
            return MappingOutcome.Denied(allocation);
        }

        var lease = new Lease(
            NextId++,
            command.Protocol,
            externalPort,
            command.InternalAddress,
            command.InternalPort,
            command.Client,
            command.Kind == MappingCommandKind.Peer ? command.RemotePeer : null,
            command.Origin,
            command.Description,
            command.Nonce,
            now,
            expires,
            command.Filters is { Count: > 0 } filters ? filters : null);
        Index(lease);
        changes.Add(new LeaseChange(LeaseChangeKind.Added, lease));
        return new MappingOutcome(MappingStatus.Granted, externalPort, lifetime);
    }

    private MappingOutcome Delete(in MappingCommand command, DateTimeOffset now, List<LeaseChange> changes)
    {
        // Deleting a mapping that does not exist is not an error (RFC 6886 §3.4, RFC 6887 §15).
        Lease? existing = FindOwn(command, now);
        if (existing is not null && !SameNonce(existing, command))
        {
            return MappingOutcome.Denied(MappingStatus.NotAuthorized);
        }

        if (existing is not null)
        {
            Unindex(existing);
            changes.Add(new LeaseChange(LeaseChangeKind.Removed, existing));
        }

        return new MappingOutcome(MappingStatus.Deleted, 0, 0);
    }

    private MappingOutcome DeleteAll(in MappingCommand command, List<LeaseChange> changes)
    {
        MappingProtocol protocol = command.Protocol;
        if (_byClient.TryGetValue(command.Client, out var list))
        {
            foreach (Lease lease in list.Where(l => l.Protocol == protocol && IsPortControl(l.Origin)).ToList())
            {
                Unindex(lease);
                changes.Add(new LeaseChange(LeaseChangeKind.Removed, lease));
            }
        }

        return new MappingOutcome(MappingStatus.Deleted, 0, 0);
    }

    /// <summary>NAT-PMP and PCP share one mapping space (RFC 6887 Appendix A).</summary>
    private static bool IsPortControl(MappingOrigin origin) => origin is MappingOrigin.NatPmp or MappingOrigin.Pcp;

    /// <summary>The client's own live lease for the same protocol, internal endpoint and front end.</summary>
    private Lease? FindOwn(in MappingCommand command, DateTimeOffset now)
    {
        if (!_byClient.TryGetValue(command.Client, out var list))
        {
            return null;
        }

        foreach (Lease lease in list)
        {
            if (lease.Protocol == command.Protocol
                && lease.InternalPort == command.InternalPort
                && lease.Origin == command.Origin
                && lease.InternalAddress.Equals(command.InternalAddress)
                && Equals(lease.RemotePeer, command.Kind == MappingCommandKind.Peer ? command.RemotePeer : null)
                && !OtherUpnpExternalPort(lease, command)
                && lease.IsLive(now))
            {
                return lease;
            }
        }

        return null;
    }

    /// <summary>
    /// A UPnP mapping is named by its external port: one host may map several external ports to the same
    /// internal endpoint, and asking for one of them must not renew another.
    /// </summary>
    private static bool OtherUpnpExternalPort(Lease lease, in MappingCommand command) =>
        command.Origin == MappingOrigin.Upnp && command.SuggestedExternalPort != 0 && !lease.IsPinhole
        && lease.ExternalPort != command.SuggestedExternalPort;

    private static bool SameNonce(Lease lease, in MappingCommand command) =>
        lease.Nonce is null || command.Nonce is null || lease.Nonce.AsSpan().SequenceEqual(command.Nonce);

    private static (MappingProtocol, IPAddress, ushort) PinholeKey(Lease lease) => (lease.Protocol, lease.InternalAddress, lease.InternalPort);

    private int LiveCount(IPAddress client, DateTimeOffset now) =>
        _byClient.TryGetValue(client, out var list) ? list.Count(l => l.IsLive(now)) : 0;

    private void Index(Lease lease)
    {
        _byId.Add(lease.Id, lease);
        if (lease.IsPinhole)
        {
            _pinholes.Add(PinholeKey(lease), lease);
        }
        else
        {
            _byExternal.Add((lease.Protocol, lease.ExternalPort), lease);
        }

        if (!_byClient.TryGetValue(lease.Client, out var list))
        {
            list = [];
            _byClient.Add(lease.Client, list);
        }

        list.Add(lease);
        if (lease.Expires is { } expires)
        {
            _expiry.Enqueue(lease.Id, expires);
        }
    }

    private void Unindex(Lease lease)
    {
        _byId.Remove(lease.Id);
        if (lease.IsPinhole)
        {
            _pinholes.Remove(PinholeKey(lease));
        }
        else
        {
            _byExternal.Remove((lease.Protocol, lease.ExternalPort));
        }

        if (_byClient.TryGetValue(lease.Client, out var list))
        {
            list.Remove(lease);
            if (list.Count == 0)
            {
                _byClient.Remove(lease.Client);
            }
        }
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

        List<Lease> list = _byClient[old.Client];
        list[list.IndexOf(old)] = renewed;
        if (renewed.Expires is { } expires)
        {
            _expiry.Enqueue(renewed.Id, expires);
        }
    }
}
