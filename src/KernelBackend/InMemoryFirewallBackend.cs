using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>
/// A backend that keeps mappings in memory with the kernel's semantics: batches are atomic, adding a
/// present mapping or removing an absent one fails the batch, and entries lapse when their timeout runs out.
/// For unit tests and dry runs.
/// </summary>
public sealed class InMemoryFirewallBackend : IFirewallBackend, IMediaFirewall, IOpenNat, ITrafficCounters
{
    public IReadOnlyDictionary<(IPAddress Address, TransportProtocol Protocol, ushort Port), (ulong Packets, ulong Bytes)> ForwardTraffic() =>
        new Dictionary<(IPAddress, TransportProtocol, ushort), (ulong, ulong)>();

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Dictionary<long, (PortMapping Mapping, DateTimeOffset? Expires)> _entries = [];
    private readonly Dictionary<MediaOpening, DateTimeOffset> _media = [];
    private bool _intact;

    public InMemoryFirewallBackend(TimeProvider time)
    {
        _time = time;
    }

    public IPAddress? ExternalAddress { get; private set; }

    /// <summary>The Open NAT devices last set (no packet path here, so no endpoint mappings).</summary>
    public (IReadOnlyCollection<ulong> Macs, IReadOnlyCollection<IPAddress> Addresses) OpenNatDevices { get; private set; } = ([], []);

    public void SetOpenNatDevices(IReadOnlyCollection<ulong> macs, IReadOnlyCollection<IPAddress> addresses) => OpenNatDevices = ([.. macs], [.. addresses]);

    public IReadOnlyList<OpenNatMapping> OpenNatMappings() => [];

    public IReadOnlyList<(IPAddress Address, ulong Mac)> OpenNatHosts() => [.. OpenNatDevices.Addresses.Select(a => (a, 0UL))];

    public int RebuildCount { get; private set; }

    /// <summary>The live entries, as a lookup of the kernel would see them now.</summary>
    public IReadOnlyList<PortMapping> Entries
    {
        get
        {
            lock (_lock)
            {
                DateTimeOffset now = _time.GetUtcNow();
                return [.. _entries.Values.Where(e => IsLive(e.Expires, now)).Select(e => e.Mapping)];
            }
        }
    }

    /// <summary>The live IPv4 translation for an external port, if any.</summary>
    public PortMapping? Find(TransportProtocol protocol, ushort externalPort) =>
        Entries.Where(m => !m.IsPinhole && m.Protocol == protocol && m.ExternalPort == externalPort).Select(m => (PortMapping?)m).FirstOrDefault();

    /// <summary>What <see cref="PacketCount"/> reports for every present pinhole, as if that many packets had come through.</summary>
    public ulong SimulatedPackets { get; set; }

    public ulong? PacketCount(PortMapping mapping)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(mapping.Id, out var entry) && IsLive(entry.Expires, _time.GetUtcNow()) ? SimulatedPackets : null;
        }
    }

    /// <summary>Mappings the simulated kernel refuses, as the real one refuses an element it cannot hold: a batch or rebuild holding one fails whole.</summary>
    public Func<PortMapping, bool>? Refuses { get; set; }

    /// <summary>When set, every rebuild and batch fails, whatever it holds (no permission, netlink gone).</summary>
    public bool Unavailable { get; set; }

    /// <summary>Simulates someone deleting the daemon's table (a firewall reload).</summary>
    public void SimulateFlush()
    {
        lock (_lock)
        {
            _entries.Clear();
            _intact = false;
        }
    }

    public void Rebuild(IPAddress? externalAddress, IReadOnlyCollection<PortMapping> mappings)
    {
        lock (_lock)
        {
            Check(mappings);
            DateTimeOffset now = _time.GetUtcNow();
            _entries.Clear();
            foreach (PortMapping m in mappings)
            {
                _entries[m.Id] = (m, now + m.Timeout);
            }

            ExternalAddress = externalAddress;
            _intact = true;
            RebuildCount++;
        }
    }

    public void Apply(IReadOnlyList<FirewallChange> changes)
    {
        lock (_lock)
        {
            if (!_intact)
            {
                throw new FirewallException("table does not exist");
            }

            Check([.. changes.Where(c => c.Kind != FirewallChangeKind.Remove).Select(c => c.Mapping)]);

            DateTimeOffset now = _time.GetUtcNow();
            var staged = new Dictionary<long, (PortMapping Mapping, DateTimeOffset? Expires)>(_entries);
            foreach (FirewallChange change in changes)
            {
                long id = change.Mapping.Id;
                bool present = staged.TryGetValue(id, out var existing) && IsLive(existing.Expires, now);
                switch (change.Kind)
                {
                    case FirewallChangeKind.Add when present:
                        throw new FirewallException($"mapping {id} exists");
                    case FirewallChangeKind.Remove when !present:
                    case FirewallChangeKind.Replace when !present:
                        throw new FirewallException($"mapping {id} does not exist");
                    case FirewallChangeKind.Remove:
                        staged.Remove(id);
                        break;
                    default:
                        staged[id] = (change.Mapping, now + change.Mapping.Timeout);
                        break;
                }
            }

            _entries.Clear();
            foreach (var pair in staged)
            {
                _entries.Add(pair.Key, pair.Value);
            }
        }
    }

    /// <summary>The media ports open now.</summary>
    public IReadOnlyList<MediaOpening> Media
    {
        get
        {
            lock (_lock)
            {
                DateTimeOffset now = _time.GetUtcNow();
                return [.. _media.Where(m => m.Value > now).Select(m => m.Key)];
            }
        }
    }

    public int OpenMediaCount => Media.Count;

    public void OpenMedia(IReadOnlyCollection<MediaOpening> openings, TimeSpan timeout)
    {
        lock (_lock)
        {
            DateTimeOffset expires = _time.GetUtcNow() + timeout;
            foreach (MediaOpening m in openings)
            {
                _media[m] = expires;
            }
        }
    }

    public void CloseMedia(IReadOnlyCollection<MediaOpening> openings)
    {
        lock (_lock)
        {
            foreach (MediaOpening m in openings)
            {
                _media.Remove(m);
            }
        }
    }

    public Task WaitForOutsideChangeAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

    public bool IsIntact()
    {
        lock (_lock)
        {
            return _intact;
        }
    }

    private void Check(IReadOnlyCollection<PortMapping> mappings)
    {
        if (Unavailable)
        {
            throw new FirewallException("Operation not permitted");
        }

        foreach (PortMapping refused in mappings.Where(Refuses ?? (_ => false)))
        {
            throw new FirewallException($"Could not process rule: File exists (mapping {refused.Id})");
        }
    }

    private static bool IsLive(DateTimeOffset? expires, DateTimeOffset now) => expires is null || expires > now;
}
