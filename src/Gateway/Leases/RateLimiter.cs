using System.Net;
using PortMapper.Gateway.Devices;

namespace PortMapper.Gateway.Leases;

/// <summary>
/// A token bucket per device (all its addresses share one). Thread-safe. Idle buckets (full again) are pruned when the table grows,
/// so a flood of spoofed sources cannot grow it without bound.
/// </summary>
public sealed class RateLimiter
{
    private const int PruneAbove = 4096;

    private double _perSecond;
    private double _burst;
    private readonly Lock _lock = new();
    private readonly Dictionary<DeviceId, (double Tokens, DateTimeOffset At)> _buckets = [];

    public RateLimiter(double perSecond, int burst)
    {
        _perSecond = perSecond;
        _burst = burst;
    }

    /// <summary>New rate and burst from now on (a configuration reload).</summary>
    public void Reconfigure(double perSecond, int burst)
    {
        lock (_lock)
        {
            _perSecond = perSecond;
            _burst = burst;
        }
    }

    public bool TryAcquire(IPAddress client, DateTimeOffset now) => TryAcquire(DeviceId.OfAddress(client), now);

    public bool TryAcquire(DeviceId client, DateTimeOffset now)
    {
        lock (_lock)
        {
            double tokens = _burst;
            if (_buckets.TryGetValue(client, out var bucket))
            {
                tokens = Math.Min(_burst, bucket.Tokens + (Math.Max(0, (now - bucket.At).TotalSeconds) * _perSecond));
            }
            else if (_buckets.Count >= PruneAbove)
            {
                Prune(now);
            }

            bool granted = tokens >= 1;
            _buckets[client] = (granted ? tokens - 1 : tokens, now);
            return granted;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (client, bucket) in _buckets.ToList())
        {
            if (bucket.Tokens + ((now - bucket.At).TotalSeconds * _perSecond) >= _burst)
            {
                _buckets.Remove(client);
            }
        }
    }
}
