using System.Net;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// One event subscription. Its NOTIFYs are chained on <see cref="Tail"/>, so they leave in SEQ order while
/// other subscribers' go in parallel. At most one NOTIFY waits behind the one in flight: changes that come
/// while it waits join it (the latest value of each variable wins), so a subscriber that is slow or never
/// answers holds one pending event, not a backlog that grows with every change.
/// </summary>
public sealed class GenaSubscription
{
    public GenaSubscription(string sid, ServiceDefinition service, Uri callback, IPAddress client, LanInterface lan, DateTimeOffset expires)
    {
        Sid = sid;
        Service = service;
        Callback = callback;
        Client = client;
        Lan = lan;
        Expires = expires;
    }

    public string Sid { get; }

    public ServiceDefinition Service { get; }

    public Uri Callback { get; }

    public IPAddress Client { get; }

    public LanInterface Lan { get; }

    public DateTimeOffset Expires { get; set; }

    /// <summary>The SEQ of the next event: 0 for the initial one, then up, wrapping from 2^32-1 to 1 (UDA 1.1 §4.3.2).</summary>
    public uint NextSequence { get; set; }

    public Task Tail { get; set; } = Task.CompletedTask;

    private readonly Dictionary<string, string> _pending = [];
    private bool _waiting;

    /// <summary>Adds variables to the next event. True when no NOTIFY is waiting yet and one must be chained.</summary>
    public bool Add(IEnumerable<KeyValuePair<string, string>> values)
    {
        lock (_pending)
        {
            foreach (var (name, value) in values)
            {
                _pending[name] = value;
            }

            if (_waiting)
            {
                return false;
            }

            _waiting = true;
            return true;
        }
    }

    /// <summary>What the waiting NOTIFY carries, taken as it leaves, with its SEQ.</summary>
    public (uint Sequence, List<KeyValuePair<string, string>> Values) Take()
    {
        lock (_pending)
        {
            _waiting = false;
            List<KeyValuePair<string, string>> values = [.. _pending];
            _pending.Clear();
            return (TakeSequence(), values);
        }
    }

    /// <summary>Variables waiting to go out (for tests and metrics).</summary>
    public int PendingCount
    {
        get
        {
            lock (_pending)
            {
                return _pending.Count;
            }
        }
    }

    public uint TakeSequence()
    {
        uint sequence = NextSequence;
        NextSequence = sequence == uint.MaxValue ? 1 : sequence + 1;
        return sequence;
    }
}
