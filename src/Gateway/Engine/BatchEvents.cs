using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Events;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Engine;

/// <summary>What a batch did, as events: each request's grant, renewal, deletion or refusal, and leases that expired or were revoked.</summary>
internal static class BatchEvents
{
    public static void Publish(EventLog events, DeviceDirectory? devices, IReadOnlyList<EngineWork> batch, IReadOnlyList<LeaseChange> changes, DateTimeOffset now)
    {
        var covered = new bool[changes.Count];
        var addedHere = new HashSet<long>();
        foreach (EngineWork work in batch)
        {
            for (int i = work.FirstChange; i < work.EndChange && i < changes.Count; i++)
            {
                covered[i] = true;
            }

            if (work.Kind == EngineWorkKind.Mapping)
            {
                MappingStatus status = work.Outcome.Status;
                if (status is MappingStatus.Granted or MappingStatus.Deleted)
                {
                    for (int i = work.FirstChange; i < work.EndChange && i < changes.Count; i++)
                    {
                        LeaseChange change = changes[i];
                        string? kind = change.Kind switch
                        {
                            LeaseChangeKind.Added => "granted",
                            LeaseChangeKind.Renewed => "renewed",
                            LeaseChangeKind.Removed => "deleted",
                            _ => null,
                        };
                        if (change.Kind == LeaseChangeKind.Added)
                        {
                            addedHere.Add(change.Lease.Id);
                        }

                        if (kind is not null)
                        {
                            events.Publish(OfLease(kind, change.Lease, devices, now, null, work.Device));
                        }
                    }
                }
                else
                {
                    MappingCommand c = work.Command;
                    DeviceId device = work.Device.HasMac || work.Device.Address is not null ? work.Device : DeviceId.OfAddress(c.Client);
                    events.Publish(new GatewayEvent(0, now, "refused", device.MacText, c.Client.ToString(), devices?.NameOf(device, c.Client),
                        Name(c.Protocol), c.SuggestedExternalPort == 0 ? null : c.SuggestedExternalPort, c.InternalAddress.ToString(), c.InternalPort, Origin(c.Origin),
                        c.RequestedLifetimeSeconds, null, Reason(status)));
                    for (int i = work.FirstChange; i < work.EndChange && i < changes.Count; i++)
                    {
                        if (changes[i].Kind == LeaseChangeKind.Added)
                        {
                            addedHere.Add(changes[i].Lease.Id);
                        }
                    }
                }
            }
            else
            {
                string reason = work.Kind switch
                {
                    EngineWorkKind.Revoke => "revoked through the admin endpoint",
                    EngineWorkKind.EnforceDevices or EngineWorkKind.Reconfigure => "the device may not map ports",
                    _ => "the kernel refused it",
                };
                for (int i = work.FirstChange; i < work.EndChange && i < changes.Count; i++)
                {
                    Publish(events, devices, changes[i], reason, now);
                }
            }
        }

        for (int i = 0; i < changes.Count; i++)
        {
            // Removals after the requests' own changes: leases the kernel refused, or grants the journal could not
            // keep (never announced, so not announced as revoked either).
            if (!covered[i] && !(changes[i].Kind == LeaseChangeKind.Removed && addedHere.Contains(changes[i].Lease.Id)))
            {
                Publish(events, devices, changes[i], "the kernel refused it", now);
            }
        }
    }

    private static void Publish(EventLog events, DeviceDirectory? devices, LeaseChange change, string reason, DateTimeOffset now)
    {
        if (change.Kind == LeaseChangeKind.Expired)
        {
            events.Publish(OfLease("expired", change.Lease, devices, now, null, default));
        }
        else if (change.Kind == LeaseChangeKind.Removed)
        {
            events.Publish(OfLease("revoked", change.Lease, devices, now, reason, default));
        }
    }

    private static GatewayEvent OfLease(string kind, Lease lease, DeviceDirectory? devices, DateTimeOffset now, string? reason, DeviceId asked)
    {
        DeviceId device = asked.HasMac ? asked : lease.Owner;
        return new GatewayEvent(0, now, kind, device.MacText, lease.Client.ToString(), devices?.NameOf(device, lease.Client), Name(lease.Protocol),
            lease.IsPinhole ? null : lease.ExternalPort, lease.InternalAddress.ToString(), lease.InternalPort, Origin(lease.Origin),
            kind is "granted" or "renewed" ? lease.SecondsLeft(now) : null, lease.Id, reason);
    }

    public static string Name(MappingProtocol protocol) => protocol == MappingProtocol.Tcp ? "tcp" : "udp";

    public static string Origin(MappingOrigin origin) => Admin.AdminService.OriginName(origin);

    private static string Reason(MappingStatus status) => status switch
    {
        MappingStatus.NotAuthorized => "not authorized",
        MappingStatus.QuotaExceeded => "quota exceeded",
        MappingStatus.NoResources => "out of resources",
        MappingStatus.NoExternalAddress => "no external address",
        MappingStatus.CannotProvideExternal => "port not available",
        MappingStatus.ConflictWithOtherMechanism => "port in use by the gateway",
        MappingStatus.KernelRefused => "the kernel refused it",
        MappingStatus.UpstreamFailed => "the upstream gateway refused it or did not answer",
        _ => status.ToString(),
    };
}
