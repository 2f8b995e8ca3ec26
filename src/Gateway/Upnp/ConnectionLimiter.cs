using System.Net;

namespace PortMapper.Gateway.Upnp;

/// <summary>Counts open connections per source address and refuses one beyond the cap. Thread-safe.</summary>
public sealed class ConnectionLimiter
{
    private readonly int _perSource;
    private readonly Lock _lock = new();
    private readonly Dictionary<IPAddress, int> _open = [];

    public ConnectionLimiter(int perSource)
    {
        _perSource = perSource;
    }

    public bool TryEnter(IPAddress source)
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

    public void Exit(IPAddress source)
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
