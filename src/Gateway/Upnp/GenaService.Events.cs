using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>Event values, change detection and NOTIFY delivery.</summary>
public sealed partial class GenaService
{
    private static readonly TimeSpan s_notifyTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The current value of every evented variable of a service.</summary>
    public Dictionary<string, string> Values(ServiceDefinition service)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        IPAddress? external = _state.Current.AdvertisedAddress;
        string updateId = ((uint)(_engine.Version & uint.MaxValue)).ToString(CultureInfo.InvariantCulture);
        foreach (StateVariable variable in service.EventedVariables)
        {
            values[variable.Name] = variable.Name switch
            {
                "PossibleConnectionTypes" => "IP_Routed",
                "ConnectionStatus" => external is null ? "Disconnected" : "Connected",
                "ExternalIPAddress" => external?.ToString() ?? string.Empty,
                "PortMappingNumberOfEntries" => _engine.PortMappings().Count.ToString(CultureInfo.InvariantCulture),
                "SystemUpdateID" => updateId,
                "FirewallEnabled" => "1",
                "InboundPinholeAllowed" => _engine.Options.Settings.UpnpPinholes ? "1" : "0",
                "PhysicalLinkStatus" => WanLink.Status(_options.WanInterface),
                "DefaultConnectionService" => _devices.DefaultConnectionService,
                _ => string.Empty,
            };
        }

        return values;
    }

    private void SendInitial(GenaSubscription subscription)
    {
        lock (_lock)
        {
            if (_subscriptions.ContainsKey(subscription.Sid))
            {
                Dictionary<string, string> values = Values(subscription.Service);
                Enqueue(subscription, values);

                // Changes are measured from what the newest subscriber was told, so none falls between the two.
                _lastSent[subscription.Service.Kind] = values;
            }
        }
    }

    /// <summary>For each service with subscribers, the variables that changed since the last check go out in one event.</summary>
    private void SendChanges()
    {
        List<GenaSubscription> subscribers;
        lock (_lock)
        {
            subscribers = [.. _subscriptions.Values];
        }

        foreach (var group in subscribers.GroupBy(s => s.Service))
        {
            lock (_lock)
            {
                // Read under the lock, so an initial event cannot slip between this reading and the comparison.
                Dictionary<string, string> now = Values(group.Key);
                Dictionary<string, string>? before = _lastSent.GetValueOrDefault(group.Key.Kind);
                _lastSent[group.Key.Kind] = now;
                var changed = before is null ? [] : now.Where(p => before.GetValueOrDefault(p.Key) != p.Value).ToList();
                if (changed.Count == 0)
                {
                    continue;
                }

                foreach (GenaSubscription subscription in group.Where(s => _subscriptions.ContainsKey(s.Sid)))
                {
                    Enqueue(subscription, changed);
                }
            }
        }
    }

    /// <summary>
    /// Chains a NOTIFY after the subscription's previous one, or adds the values to the one already waiting
    /// (see <see cref="GenaSubscription"/>). Caller holds the lock.
    /// </summary>
    private void Enqueue(GenaSubscription subscription, IEnumerable<KeyValuePair<string, string>> values)
    {
        if (!subscription.Add(values))
        {
            return;
        }

        subscription.Tail = subscription.Tail.ContinueWith(
            _ =>
            {
                (uint sequence, List<KeyValuePair<string, string>> taken) = subscription.Take();
                return NotifyAsync(subscription, sequence, GenaCodec.PropertySet(taken));
            },
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default).Unwrap();
    }

    /// <summary>
    /// One NOTIFY over a fresh connection, bound to the subscriber's LAN interface, with a short timeout for the
    /// whole exchange. The answer's status line is read and otherwise ignored: there are no redirects to follow.
    /// </summary>
    private async Task NotifyAsync(GenaSubscription subscription, uint sequence, string body)
    {
        Uri callback = subscription.Callback;
        if (!IPAddress.TryParse(callback.DnsSafeHost, out IPAddress? host))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(s_notifyTimeout);
        using var socket = new Socket(host.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.BindToDevice(subscription.Lan.Name);
            await socket.ConnectAsync(new IPEndPoint(host, callback.Port), timeout.Token).ConfigureAwait(false);
            await socket.SendAsync(GenaCodec.Notify(callback, subscription.Sid, sequence, body), SocketFlags.None, timeout.Token).ConfigureAwait(false);
            byte[] answer = new byte[256];
            int read = await socket.ReceiveAsync(answer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            string status = Encoding.ASCII.GetString(answer, 0, read).Split("\r\n")[0];
            if (!status.Contains(" 200", StringComparison.Ordinal))
            {
                Log.GenaNotifyFailed(_logger, callback, string.IsNullOrEmpty(status) ? "no answer" : status);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Log.GenaNotifyFailed(_logger, callback, e.Message);
        }
    }
}
