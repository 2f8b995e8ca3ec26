using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// GENA eventing: SUBSCRIBE, renewal and UNSUBSCRIBE, the initial event, and change events when the evented
/// state variables change (checked once a second). Callbacks must point back at the subscriber itself
/// (CallStranger); subscriptions are capped in total and per host; NOTIFYs leave only through the subscriber's
/// LAN interface, with short timeouts and no redirects.
/// </summary>
public sealed partial class GenaService : BackgroundService
{
    private static readonly TimeSpan s_checkInterval = TimeSpan.FromSeconds(1);

    private readonly GatewayOptions _options;
    private readonly MappingEngine _engine;
    private readonly GatewayState _state;
    private readonly UpnpDevices _devices;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, GenaSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<UpnpServiceKind, Dictionary<string, string>> _lastSent = [];
    private TaskCompletionSource _subscribed = NewSignal();

    public GenaService(GatewayOptions options, MappingEngine engine, GatewayState state, UpnpDevices devices, TimeProvider time, ILogger<GenaService> logger)
    {
        _options = options;
        _engine = engine;
        _state = state;
        _devices = devices;
        _time = time;
        _logger = logger;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _subscriptions.Count;
            }
        }
    }

    public async Task HandleAsync(HttpContext context, ServiceDefinition service, UpnpCaller caller)
    {
        HttpRequest request = context.Request;
        string? sid = Header(request, "SID");
        string? nt = Header(request, "NT");
        string? callback = Header(request, "CALLBACK");
        (int status, string reason, GenaSubscription? created) = request.Method switch
        {
            _ when sid is not null && (nt is not null || callback is not null) => (StatusCodes.Status400BadRequest, "SID with NT or CALLBACK", null),
            "UNSUBSCRIBE" => Unsubscribe(sid, caller),
            _ when sid is not null => Renew(sid, caller, service, Header(request, "TIMEOUT"), context.Response),
            _ => Subscribe(service, caller, nt, callback, Header(request, "TIMEOUT"), context.Response),
        };

        if (status != StatusCodes.Status200OK)
        {
            Log.GenaRefused(_logger, request.Method, caller.Address, status, reason);
        }

        HttpResponse response = context.Response;
        response.StatusCode = status;
        response.ContentLength = 0;
        if (created is not null)
        {
            // The initial event follows the response (UDA 1.1 §4.2.1).
            response.OnCompleted(() =>
            {
                SendInitial(created);
                return Task.CompletedTask;
            });
        }

        await response.CompleteAsync().ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A delay per round rather than a PeriodicTimer, whose timer would go on firing while the loop sleeps.
        try
        {
            while (true)
            {
                await Task.Delay(s_checkInterval, _time, stoppingToken).ConfigureAwait(false);
                Expire();
                SendChanges();

                // With no subscriber there is nothing to watch: sleep until one subscribes.
                Task subscribed;
                lock (_lock)
                {
                    if (_subscriptions.Count > 0)
                    {
                        continue;
                    }

                    if (_subscribed.Task.IsCompleted)
                    {
                        _subscribed = NewSignal();
                    }

                    subscribed = _subscribed.Task;
                }

                await subscribed.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        Task[] tails;
        lock (_lock)
        {
            tails = [.. _subscriptions.Values.Select(s => s.Tail)];
        }

        await Task.WhenAll(tails).ConfigureAwait(false);
    }

    private (int, string, GenaSubscription?) Subscribe(ServiceDefinition service, UpnpCaller caller, string? nt, string? callbackHeader, string? timeoutHeader, HttpResponse response)
    {
        if (nt != "upnp:event")
        {
            return (StatusCodes.Status412PreconditionFailed, "NT is not upnp:event", null);
        }

        if (!GenaCodec.TryParseCallback(callbackHeader, caller.Address, out Uri? callback))
        {
            return (StatusCodes.Status412PreconditionFailed, "CALLBACK is not an http URL of the subscriber's own address", null);
        }

        int seconds = GenaCodec.ParseTimeout(timeoutHeader);
        DateTimeOffset now = _time.GetUtcNow();
        var subscription = new GenaSubscription("uuid:" + Guid.NewGuid().ToString("D"), service, callback!, caller.Address, caller.Lan, now.AddSeconds(seconds));
        lock (_lock)
        {
            if (_subscriptions.Count >= _options.Settings.UpnpMaxSubscriptions)
            {
                return (StatusCodes.Status503ServiceUnavailable, "too many subscriptions", null);
            }

            if (_subscriptions.Values.Count(s => s.Client.Equals(caller.Address)) >= _options.Settings.UpnpMaxSubscriptionsPerHost)
            {
                return (StatusCodes.Status503ServiceUnavailable, "too many subscriptions from this host", null);
            }

            _subscriptions.Add(subscription.Sid, subscription);
            _subscribed.TrySetResult();
        }

        Log.GenaSubscribed(_logger, subscription.Sid, caller.Address, service.ServiceType, seconds);
        WriteSubscriptionHeaders(response, subscription.Sid, seconds);
        return (StatusCodes.Status200OK, string.Empty, subscription);
    }

    private (int, string, GenaSubscription?) Renew(string sid, UpnpCaller caller, ServiceDefinition service, string? timeoutHeader, HttpResponse response)
    {
        int seconds = GenaCodec.ParseTimeout(timeoutHeader);
        lock (_lock)
        {
            if (!_subscriptions.TryGetValue(sid, out GenaSubscription? subscription) || !subscription.Client.Equals(caller.Address) || subscription.Service != service)
            {
                return (StatusCodes.Status412PreconditionFailed, "unknown SID", null);
            }

            subscription.Expires = _time.GetUtcNow().AddSeconds(seconds);
        }

        WriteSubscriptionHeaders(response, sid, seconds);
        return (StatusCodes.Status200OK, string.Empty, null);
    }

    private (int, string, GenaSubscription?) Unsubscribe(string? sid, UpnpCaller caller)
    {
        lock (_lock)
        {
            if (sid is null || !_subscriptions.TryGetValue(sid, out GenaSubscription? subscription) || !subscription.Client.Equals(caller.Address))
            {
                return (StatusCodes.Status412PreconditionFailed, "unknown SID", null);
            }

            _subscriptions.Remove(sid);
        }

        return (StatusCodes.Status200OK, string.Empty, null);
    }

    private void WriteSubscriptionHeaders(HttpResponse response, string sid, int seconds)
    {
        response.Headers["SID"] = sid;
        response.Headers["TIMEOUT"] = "Second-" + seconds.ToString(CultureInfo.InvariantCulture);
        response.Headers.Server = UpnpDevices.ServerString;
        response.Headers.Date = _time.GetUtcNow().ToString("r", CultureInfo.InvariantCulture);
    }

    private void Expire()
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            foreach (GenaSubscription expired in _subscriptions.Values.Where(s => s.Expires <= now).ToList())
            {
                _subscriptions.Remove(expired.Sid);
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;
}
