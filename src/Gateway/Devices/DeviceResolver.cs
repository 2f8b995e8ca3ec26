using System.Collections.Concurrent;
using System.Net;
using System.Net.NetworkInformation;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Devices;

/// <summary>
/// Finds the device behind a LAN source address: the kernel's neighbour entry for it on the interface the
/// request arrived on. Answers are kept for a while (a device keeps its MAC; an address that changes hands is
/// looked up again once its entry is old), and an address the kernel has no entry for stands for itself.
/// Thread-safe.
/// </summary>
public sealed class DeviceResolver
{
    private const int MaxCached = 8192;
    private static readonly TimeSpan s_keep = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_keepUnknown = TimeSpan.FromSeconds(1);

    private readonly INeighbourTable? _neighbours;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(IPAddress, int), (DeviceId Device, DateTimeOffset Until)> _cache = new();

    public DeviceResolver(INeighbourTable? neighbours, TimeProvider time)
    {
        _neighbours = neighbours;
        _time = time;
    }

    public DeviceId Resolve(IPAddress source, int interfaceIndex)
    {
        if (source.IsIPv4MappedToIPv6)
        {
            source = source.MapToIPv4();
        }

        DateTimeOffset now = _time.GetUtcNow();
        if (_cache.TryGetValue((source, interfaceIndex), out var cached) && cached.Until > now)
        {
            return cached.Device;
        }

        PhysicalAddress? mac = _neighbours?.LinkAddressOf(source, interfaceIndex);

        // An address without an entry stands for itself, for a moment only: the entry may appear once the
        // gateway answers (and a flood from unknown sources costs one lookup per address per second).
        DeviceId device = mac is null || mac.GetAddressBytes() is not { Length: 6 } bytes || bytes.All(b => b == 0)
            ? DeviceId.OfAddress(source) : DeviceId.OfMac(mac);
        if (_cache.Count >= MaxCached)
        {
            foreach (var entry in _cache.Where(e => e.Value.Until <= now).ToList())
            {
                _cache.TryRemove(entry.Key, out _);
            }

            if (_cache.Count >= MaxCached)
            {
                _cache.Clear();
            }
        }

        _cache[(source, interfaceIndex)] = (device, now + (device.HasMac ? s_keep : s_keepUnknown));
        return device;
    }
}
