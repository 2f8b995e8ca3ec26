using System.Net;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// One event subscription. Its NOTIFYs are chained on <see cref="Tail"/>, so they leave in SEQ order while
/// other subscribers' go in parallel.
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

    public uint TakeSequence()
    {
        uint sequence = NextSequence;
        NextSequence = sequence == uint.MaxValue ? 1 : sequence + 1;
        return sequence;
    }
}
