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
    private const int MaxSoliciting = 32;

    /// <summary>
    /// The waits (ms) between looks at the neighbour entry after asking the kernel to resolve it, about 100 ms in
    /// all: short at first, since on a LAN the answer takes well under a millisecond (a device's first request waits
    /// for it), longer for a host that answers slowly or not at all. 0: look again as soon as the thread pool gets to it.
    /// </summary>
    private static readonly int[] s_solicitWaits = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 5, 5, 10, 10, 10, 10, 10, 10, 10, 10];
    private static readonly TimeSpan s_keep = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_keepUnknown = TimeSpan.FromSeconds(1);

    private readonly INeighbourTable? _neighbours;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(IPAddress, int), (DeviceId Device, DateTimeOffset Until)> _cache = new();
    private int _soliciting;

    public DeviceResolver(INeighbourTable? neighbours, TimeProvider time)
    {
        _neighbours = neighbours;
        _time = time;
    }

    /// <summary>
    /// Like <see cref="Resolve"/>, but for an address the kernel has no entry for yet (a fresh IPv6 privacy address
    /// reaches the gateway without one), asks the kernel to resolve it and waits up to 100 ms for the answer:
    /// otherwise each new address of a device would be a device of its own for its first request. Only so many
    /// lookups wait at once; beyond that, and when no answer comes, the address stands for itself.
    /// </summary>
    public async ValueTask<DeviceId> ResolveAsync(IPAddress source, int interfaceIndex, CancellationToken cancellationToken)
    {
        DeviceId device = Resolve(source, interfaceIndex);
        if (device.HasMac || _neighbours is null || interfaceIndex <= 0)
        {
            return device;
        }

        if (Interlocked.Increment(ref _soliciting) > MaxSoliciting)
        {
            Interlocked.Decrement(ref _soliciting);
            return device;
        }

        try
        {
            _neighbours.Solicit(source, interfaceIndex);
            foreach (int wait in s_solicitWaits)
            {
                if (wait == 0)
                {
                    await Task.Yield();
                }
                else
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), _time, cancellationToken).ConfigureAwait(false);
                }

                if (Usable(_neighbours.LinkAddressOf(source, interfaceIndex)) is { } found)
                {
                    _cache[(Unmapped(source), interfaceIndex)] = (found, _time.GetUtcNow() + s_keep);
                    return found;
                }
            }

            return device;
        }
        finally
        {
            Interlocked.Decrement(ref _soliciting);
        }
    }

    /// <summary>Whether <see cref="ResolveAsync"/> would have to wait: no MAC is known for the address.</summary>
    public bool NeedsSolicit(DeviceId device, int interfaceIndex) => !device.HasMac && _neighbours is not null && interfaceIndex > 0;

    private static IPAddress Unmapped(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static DeviceId? Usable(PhysicalAddress? mac) =>
        mac is not null && mac.GetAddressBytes() is { Length: 6 } bytes && bytes.Any(b => b != 0) ? DeviceId.OfMac(mac) : null;

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
        DeviceId device = Usable(mac) ?? DeviceId.OfAddress(source);
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
