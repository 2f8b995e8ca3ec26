using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Engine;

/// <summary>Reads of the table for front ends that list or look up mappings (UPnP, admin).</summary>
public sealed partial class MappingEngine
{
    private long _version;
    private DateTimeOffset _lastChange;
    private long _portMappingsVersion = -1;
    private Lease[] _portMappings = [];

    /// <summary>Goes up whenever a batch changed the table: what eventing compares (SystemUpdateID).</summary>
    public long Version => Interlocked.Read(ref _version);

    public Lease? FindByExternal(MappingProtocol protocol, ushort externalPort)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_tableLock)
        {
            return _table.FindByExternal(protocol, externalPort) is { } lease && lease.IsLive(now) ? lease : null;
        }
    }

    public Lease? FindPinholeOf(MappingProtocol protocol, System.Net.IPAddress internalAddress, ushort internalPort)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_tableLock)
        {
            return _table.FindPinhole(protocol, internalAddress, internalPort) is { } lease && lease.IsLive(now) ? lease : null;
        }
    }

    /// <summary>The live pinhole whose id ends in these 16 bits (UPnP's UniqueID): no two live pinholes share them.</summary>
    public Lease? FindPinhole(ushort uniqueId)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_tableLock)
        {
            return _table.FindPinhole(uniqueId, now);
        }
    }

    /// <summary>
    /// The IPv4 port mappings (no pinholes, no PEER mappings), ordered by protocol and external port: the array
    /// UPnP's index-based listing walks. Rebuilt only after the table changed, so walking it by index is O(1)
    /// per step.
    /// </summary>
    public IReadOnlyList<Lease> PortMappings()
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_tableLock)
        {
            if (_portMappingsVersion != _version)
            {
                _portMappings = [.. _table.Leases.Where(l => !l.IsPinhole && l.RemotePeer is null)
                    .OrderBy(l => l.Protocol).ThenBy(l => l.ExternalPort)];
                _portMappingsVersion = _version;
            }

            Lease[] snapshot = _portMappings;
            return snapshot.Any(l => !l.IsLive(now)) ? [.. snapshot.Where(l => l.IsLive(now))] : snapshot;
        }
    }

    private void NoteTableChanged()
    {
        if (_changes.Count > 0)
        {
            Interlocked.Increment(ref _version);
            _lastChange = _time.GetUtcNow();
            WakeSweeperIfSooner();
        }
    }
}
