using System.Net;
using PortMapper.Gateway.Leases;

namespace PortMapper.Gateway.Persistence;

/// <summary>
/// What the store held at start. <see cref="EpochStart"/> is null when there was no saved state;
/// <see cref="SkippedRecords"/> counts intact records that could not be read (the first one's reason in <see cref="SkipReason"/>).
/// </summary>
public sealed record StoredState(
    IReadOnlyCollection<Lease> Leases,
    DateTimeOffset? EpochStart,
    IPAddress? EpochAddress,
    long NextId,
    long DiscardedBytes,
    int SkippedRecords = 0,
    string? SkipReason = null);
