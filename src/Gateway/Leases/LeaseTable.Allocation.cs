using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

public sealed partial class LeaseTable
{
    /// <summary>
    /// Picks the external port: the suggested one (or the internal port when none is suggested) if policy
    /// permits it and it is free, otherwise the next permitted free port above it, wrapping around.
    /// A port held by a lease that has run out but not yet been swept is taken over.
    /// </summary>
    private MappingStatus AllocateExternalPort(in MappingCommand command, DateTimeOffset now, List<LeaseChange> changes, out ushort externalPort)
    {
        ushort first = command.SuggestedExternalPort != 0 ? command.SuggestedExternalPort : command.InternalPort;
        if (first == 0)
        {
            first = 1024;
        }

        bool sawPermitted = false;

        // PREFER_FAILURE (RFC 6887 §13.2): the suggested port or nothing.
        int attempts = command.PreferFailure && command.SuggestedExternalPort != 0 ? 1 : ushort.MaxValue;
        for (int i = 0; i < attempts; i++)
        {
            ushort candidate = (ushort)(((first - 1 + i) % ushort.MaxValue) + 1);
            if (_options.ReservedPorts.Contains(candidate)
                || !_policy.Permits(candidate, command.InternalAddress, command.InternalPort))
            {
                continue;
            }

            sawPermitted = true;
            if (!_byExternal.TryGetValue((command.Protocol, candidate), out Lease? holder))
            {
                externalPort = candidate;
                return MappingStatus.Granted;
            }

            if (!holder.IsLive(now))
            {
                Unindex(holder);
                changes.Add(new LeaseChange(LeaseChangeKind.Expired, holder));
                externalPort = candidate;
                return MappingStatus.Granted;
            }
        }

        externalPort = 0;
        return attempts == 1 ? MappingStatus.CannotProvideExternal
            : sawPermitted ? MappingStatus.NoResources : MappingStatus.NotAuthorized;
    }

    /// <summary>
    /// An IPv6 pinhole opens the host's own address and port: nothing to translate, so the "external" port is
    /// the internal one. It must be permitted by policy and not held by another client's lease.
    /// </summary>
    private MappingStatus ClaimPinhole(in MappingCommand command, DateTimeOffset now, List<LeaseChange> changes, out ushort externalPort)
    {
        externalPort = command.InternalPort;
        if (!_policy.Permits(command.InternalPort, command.InternalAddress, command.InternalPort))
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
