using System.Net;
using PortMapper.Gateway.Leases;

namespace PortMapper.Gateway.Persistence;

/// <summary>What the store held at start. <see cref="EpochStart"/> is null when there was no saved state.</summary>
public sealed record StoredState(
    IReadOnlyCollection<Lease> Leases,
    DateTimeOffset? EpochStart,
    IPAddress? EpochAddress,
    long NextId,
    long DiscardedBytes);
