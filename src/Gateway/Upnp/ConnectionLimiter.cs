using PortMapper.Gateway.Devices;

namespace PortMapper.Gateway.Upnp;

/// <summary>Counts open connections per device (all its addresses together) and refuses one beyond the cap. Thread-safe.</summary>
public sealed class ConnectionLimiter
{
    private readonly int _perSource;
    private readonly Lock _lock = new();
    private readonly Dictionary<DeviceId, int> _open = [];

    public ConnectionLimiter(int perSource)
    {
        _perSource = perSource;
    }

    public bool TryEnter(DeviceId source)
    {
        lock (_lock)
        {
            int open = _open.GetValueOrDefault(source);
            if (open >= _perSource)
            {
                return false;
            }

            _open[source] = open + 1;
            return true;
        }
    }

    public void Exit(DeviceId source)
    {
        lock (_lock)
        {
            int open = _open.GetValueOrDefault(source) - 1;
            if (open <= 0)
            {
                _open.Remove(source);
            }
            else
            {
                _open[source] = open;
            }
        }
    }
}
