using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

/// <summary>Creating, renewing, moving and deleting leases, each decision asked of <see cref="Admission"/>.</summary>
public sealed partial class LeaseTable
{
    private MappingOutcome Map(in MappingCommand command, DeviceId device, DateTimeOffset now, List<LeaseChange> changes)
    {
        if (!_admission.DevicePermits(device, command.Client) || !_admission.MayAskFor(command))
        {
            return MappingOutcome.Denied(MappingStatus.NotAuthorized);
        }

        MappingStatus normalized = _admission.NormalizeFilters(command, out IReadOnlyList<MappingFilter>? filters);
        if (normalized != MappingStatus.Granted)
        {
            return MappingOutcome.Denied(normalized);
        }

        uint lifetime = _admission.Lifetime(command);
        DateTimeOffset? expires = command.Permanent ? null : now.AddSeconds(lifetime);
        var endpoint = (command.Protocol, command.InternalAddress, command.InternalPort);

        Lease? existing = FindOwn(command, now);
        if (existing is not null)
        {
            // RFC 6887 §11.3: a request for an existing mapping with another nonce is refused.
            if (!SameNonce(existing, command))
            {
                return MappingOutcome.Denied(MappingStatus.NotAuthorized);
            }

            IReadOnlyList<MappingFilter>? kept = filters ?? existing.Filters;
            if (kept is { Count: > 0 } && !FiltersFit(endpoint, kept, existing.Id))
            {
                return MappingOutcome.Denied(MappingStatus.CannotProvideExternal);
            }

            Lease renewed = existing with { Expires = expires, Filters = kept is { Count: > 0 } ? kept : null, Description = command.Description };
            Replace(existing, renewed);
            changes.Add(new LeaseChange(LeaseChangeKind.Renewed, renewed));
            return new MappingOutcome(MappingStatus.Granted, renewed.ExternalPort, lifetime);
        }

        // A host moving its own UPnP mapping to another internal port: one change, no moment the port is free.
        Lease? moved = MovableUpnpHolder(command, now);
        MappingStatus quota = _admission.CheckQuota(DeviceLeaseCount(device, now) - (moved is null ? 0 : 1), Count - (moved is null ? 0 : 1));
        if (quota != MappingStatus.Granted)
        {
            return MappingOutcome.Denied(quota);
        }

        if (!_admission.MayMapEndpoint(command.InternalAddress, command.InternalPort))
        {
            return MappingOutcome.Denied(MappingStatus.NotAuthorized);
        }

        // The kernel's PEER map holds one translation per internal endpoint and remote peer.
        if (command.Kind == MappingCommandKind.Peer && command.RemotePeer is { } peer
            && _peers.TryGetValue((command.Protocol, command.InternalAddress, command.InternalPort, peer), out Lease? peerHolder) && peerHolder.IsLive(now))
        {
            return MappingOutcome.Denied(MappingStatus.NotAuthorized);
        }

        if (filters is { Count: > 0 } && !FiltersFit(endpoint, filters, exceptId: moved?.Id ?? 0))
        {
            return MappingOutcome.Denied(MappingStatus.CannotProvideExternal);
        }

        ushort externalPort;
        if (moved is not null)
        {
            if (_admission.CheckExternalPort(command.Protocol, moved.ExternalPort, command.InternalAddress, command.InternalPort) is var verdict and not MappingStatus.Granted)
            {
                return MappingOutcome.Denied(verdict);
            }

            Unindex(moved);
            changes.Add(new LeaseChange(LeaseChangeKind.Removed, moved));
            externalPort = moved.ExternalPort;
        }
        else
        {
            MappingStatus allocation = command.InternalAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? ClaimPinhole(command, now, changes, out externalPort)
                : AllocateExternalPort(command, now, changes, out externalPort);
            if (allocation != MappingStatus.Granted)
            {
                return MappingOutcome.Denied(allocation);
            }
        }

        var lease = new Lease(
            TakeId(command.InternalAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6),
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
            filters is { Count: > 0 } ? filters : null,
            device);
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
    /// The caller's own UPnP mapping of the asked-for external port to the same internal address but another
    /// internal port: UPnP updates such a mapping in place (WANIPConnection §2.4.16).
    /// </summary>
    private Lease? MovableUpnpHolder(in MappingCommand command, DateTimeOffset now) =>
        command.Origin == MappingOrigin.Upnp && command.SuggestedExternalPort != 0 && command.Kind == MappingCommandKind.Map
        && command.InternalAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
        && _byExternal.TryGetValue((command.Protocol, command.SuggestedExternalPort), out Lease? holder)
        && holder.IsLive(now) && holder.Origin == MappingOrigin.Upnp && holder.RemotePeer is null
        && holder.InternalPort != command.InternalPort
        && Admission.SameAddress(holder.Client, command.Client) && Admission.SameAddress(holder.InternalAddress, command.InternalAddress)
            ? holder : null;

    /// <summary>
    /// A UPnP mapping is named by its external port: one host may map several external ports to the same
    /// internal endpoint, and asking for one of them must not renew another.
    /// </summary>
    private static bool OtherUpnpExternalPort(Lease lease, in MappingCommand command) =>
        command.Origin == MappingOrigin.Upnp && command.SuggestedExternalPort != 0 && !lease.IsPinhole
        && lease.ExternalPort != command.SuggestedExternalPort;

    private static bool SameNonce(Lease lease, in MappingCommand command) =>
        lease.Nonce is null || command.Nonce is null || lease.Nonce.AsSpan().SequenceEqual(command.Nonce);

    /// <summary>Whether these filters can sit in the kernel beside those of the endpoint's other live leases.</summary>
    private bool FiltersFit((MappingProtocol, IPAddress, ushort) endpoint, IReadOnlyList<MappingFilter> filters, long exceptId)
    {
        foreach (Lease other in _byId.Values)
        {
            if (other.Id != exceptId && other.FilterList.Count > 0 && other.RemotePeer is null
                && other.InternalEndpoint.Equals(endpoint) && !FilterSet.Compatible(filters, other.FilterList))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The next lease id. A pinhole's UPnP UniqueID is the low 16 bits of its id, so a pinhole skips ids whose
    /// UniqueID a live pinhole already has.
    /// </summary>
    private long TakeId(bool pinhole)
    {
        while (pinhole && _pinholeIds.Count < ushort.MaxValue && _pinholeIds.ContainsKey((ushort)NextId))
        {
            NextId++;
        }

        return NextId++;
    }
}
