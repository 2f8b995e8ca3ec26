using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

public sealed partial class LeaseTable
{
    /// <summary>
    /// Picks the external port: the suggested one (or the internal port when none is suggested) if admission
    /// lets this endpoint have it and it is free, otherwise the next such port above it, wrapping around.
    /// A port held by a lease that has run out but not yet been swept is taken over.
    /// </summary>
    private MappingStatus AllocateExternalPort(in MappingCommand command, DateTimeOffset now, List<LeaseChange> changes, out ushort externalPort)
    {
        ushort first = command.SuggestedExternalPort != 0 ? command.SuggestedExternalPort : command.InternalPort;
        if (first == 0)
        {
            first = 1024;
        }

        // PREFER_FAILURE (RFC 6887 §13.2), UPnP AddPortMapping: the suggested port or nothing.
        if (command.PreferFailure && command.SuggestedExternalPort != 0)
        {
            externalPort = first;
            MappingStatus verdict = _admission.CheckExternalPort(command.Protocol, first, command.InternalAddress, command.InternalPort);
            if (verdict != MappingStatus.Granted)
            {
                return verdict;
            }

            if (_byExternal.TryGetValue((command.Protocol, first), out Lease? holder) && holder.IsLive(now))
            {
                // Another front end's mapping for the same host is another mechanism's (UPnP 729); anyone else's is a conflict (718).
                return holder.Origin != command.Origin && Admission.SameAddress(holder.InternalAddress, command.InternalAddress)
                    ? MappingStatus.ConflictWithOtherMechanism : MappingStatus.CannotProvideExternal;
            }

            TakeOverExpired(command.Protocol, first, changes);
            return MappingStatus.Granted;
        }

        bool sawPermitted = false;
        for (int i = 0; i < ushort.MaxValue; i++)
        {
            ushort candidate = (ushort)(((first - 1 + i) % ushort.MaxValue) + 1);

            // A live lease's port is passed over first (a dictionary lookup), before admission's dearer checks.
            if (_byExternal.TryGetValue((command.Protocol, candidate), out Lease? holder) && holder.IsLive(now))
            {
                sawPermitted = true;
                continue;
            }

            if (_admission.CheckExternalPort(command.Protocol, candidate, command.InternalAddress, command.InternalPort) != MappingStatus.Granted)
            {
                continue;
            }

            sawPermitted = true;

            TakeOverExpired(command.Protocol, candidate, changes);
            externalPort = candidate;
            return MappingStatus.Granted;
        }

        externalPort = 0;
        return sawPermitted ? MappingStatus.NoResources : MappingStatus.NotAuthorized;
    }

    private void TakeOverExpired(MappingProtocol protocol, ushort port, List<LeaseChange> changes)
    {
        if (_byExternal.TryGetValue((protocol, port), out Lease? holder))
        {
            Unindex(holder);
            changes.Add(new LeaseChange(LeaseChangeKind.Expired, holder));
        }
    }

    /// <summary>
    /// An IPv6 pinhole opens the host's own address and port: nothing to translate, so the "external" port is
    /// the internal one. It must be permitted by policy and not held by another client's lease.
    /// </summary>
    private MappingStatus ClaimPinhole(in MappingCommand command, DateTimeOffset now, List<LeaseChange> changes, out ushort externalPort)
    {
        externalPort = command.InternalPort;
        if (!_admission.MayOpenPinhole(command.InternalAddress, command.InternalPort))
        {
            return MappingStatus.NotAuthorized;
        }

        if (_pinholes.TryGetValue((command.Protocol, command.InternalAddress, command.InternalPort), out Lease? holder))
        {
            if (holder.IsLive(now))
            {
                return MappingStatus.NotAuthorized;
            }

            Unindex(holder);
            changes.Add(new LeaseChange(LeaseChangeKind.Expired, holder));
        }

        return MappingStatus.Granted;
    }
}
