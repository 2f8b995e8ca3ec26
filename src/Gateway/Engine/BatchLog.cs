using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Engine;

/// <summary>What a batch did, for the log: refused requests at Debug, leases added and ended at Information.</summary>
internal static class BatchLog
{
    public static void Write(ILogger logger, IReadOnlyList<EngineWork> batch, IReadOnlyList<LeaseChange> changes, DateTimeOffset now)
    {
        foreach (EngineWork work in batch)
        {
            if (work.Kind == EngineWorkKind.Mapping && work.Outcome.Status is not (MappingStatus.Granted or MappingStatus.Deleted))
            {
                Log.MappingRefused(logger, work.Command.Client, work.Command.Protocol, work.Command.InternalPort, work.Outcome.Status);
            }
        }

        if (!logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
        {
            return;
        }

        foreach (LeaseChange change in changes)
        {
            Lease l = change.Lease;
            if (change.Kind == LeaseChangeKind.Added)
            {
                Log.LeaseAdded(logger, l.Origin, l.Protocol, l.ExternalPort, l.InternalAddress, l.InternalPort, l.SecondsLeft(now), l.Id);
            }
            else if (change.Kind != LeaseChangeKind.Renewed)
            {
                Log.LeaseEnded(logger, l.Id, l.Protocol, l.ExternalPort, l.InternalAddress, l.InternalPort, change.Kind == LeaseChangeKind.Expired ? "expired" : "removed");
            }
        }
    }
}
