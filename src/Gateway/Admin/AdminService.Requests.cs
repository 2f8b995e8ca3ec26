using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Admin;

/// <summary>Routing, authentication and the API's answers.</summary>
public sealed partial class AdminService
{
    private const string Json = "application/json; charset=utf-8";

    protected override async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Content-Type-Options"] = "nosniff";
        string path = request.Path.Value ?? "/";

        // The page may be opened as /?token=…, since a browser cannot send a bearer header for a navigation.
        string? offered = request.Headers.Authorization.ToString() is { } header && header.StartsWith("Bearer ", StringComparison.Ordinal)
            ? header["Bearer ".Length..].Trim()
            : path == "/" && request.Method == "GET" ? request.Query["token"].ToString() : null;
        if (!AdminToken.Matches(offered, _token))
        {
            Log.AdminRefused(_logger, request.Method, path, context.Connection.RemoteIpAddress, "missing or wrong token");
            _metrics.Drop("admin_unauthorized");
            response.Headers.WWWAuthenticate = "Bearer realm=\"portmapper\"";
            await ProblemAsync(response, StatusCodes.Status401Unauthorized, "Unauthorized",
                $"Send 'Authorization: Bearer TOKEN'; the token is in {AdminToken.FileName} in the state directory.").ConfigureAwait(false);
            return;
        }

        string[] parts = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        Task answer = (request.Method, parts) switch
        {
            ("GET", []) => PageAsync(response),
            ("GET", ["healthz"]) => HealthAsync(response),
            ("GET", ["metrics"]) => MetricsAsync(response),
            ("GET", ["api", "status"]) => WriteJsonAsync(response, Status(), AdminJsonContext.Default.StatusView),
            ("GET", ["api", "leases"]) => LeasesAsync(request, response),
            ("GET", ["api", "leases", var id]) => LeaseAsync(response, id),
            ("DELETE", ["api", "leases", var id]) => RevokeAsync(response, id),
            ("GET", ["api", "devices"]) => DevicesAsync(response),
            ("PUT", ["api", "devices", var key]) => SetDeviceAsync(request, response, key),
            ("GET", ["api", "events"]) => EventsAsync(context),
            (_, [] or ["healthz"] or ["metrics"] or ["api", "status"] or ["api", "leases"] or ["api", "leases", _] or ["api", "devices"] or ["api", "devices", _] or ["api", "events"]) =>
                ProblemAsync(response, StatusCodes.Status405MethodNotAllowed, "Method not allowed", $"{request.Method} is not allowed on {path}"),
            _ => ProblemAsync(response, StatusCodes.Status404NotFound, "Not found", $"No resource at {path}"),
        };
        await answer.ConfigureAwait(false);
    }

    private Task HealthAsync(HttpResponse response)
    {
        GatewayStatus status = _state.Current;
        bool healthy = status.KernelInSync;
        response.StatusCode = healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(healthy ? "ok\n" : "kernel table not in sync\n");
    }

    private Task MetricsAsync(HttpResponse response)
    {
        response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return response.WriteAsync(_metrics.Render(LeaseCounts(_engine.Leases(), _time.GetUtcNow()), _rtsp is null ? null : (_rtsp.Connections, _media.OpenMediaCount)));
    }

    private Task LeasesAsync(HttpRequest request, HttpResponse response)
    {
        IQueryCollection query = request.Query;
        MappingProtocol? protocol = null;
        IPAddress? client = null;
        ushort? port = null;
        if (query.TryGetValue("protocol", out var p))
        {
            protocol = p.ToString().ToUpperInvariant() switch
            {
                "TCP" => MappingProtocol.Tcp,
                "UDP" => MappingProtocol.Udp,
                _ => null,
            };
            if (protocol is null)
            {
                return ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad filter", $"protocol '{p}' is not tcp or udp");
            }
        }

        if (query.TryGetValue("client", out var c))
        {
            if (!IPAddress.TryParse(c.ToString(), out client))
            {
                return ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad filter", $"client '{c}' is not an IP address");
            }
        }

        if (query.TryGetValue("port", out var n))
        {
            if (!ushort.TryParse(n.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out ushort parsed) || parsed == 0)
            {
                return ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad filter", $"port '{n}' is not a port number");
            }

            port = parsed;
        }

        foreach (string key in query.Keys.Where(k => k is not ("protocol" or "client" or "port")))
        {
            return ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad filter", $"unknown filter '{key}' (protocol, client, port)");
        }

        DateTimeOffset now = _time.GetUtcNow();
        // What came in through each mapping: the kernel's per-element counters of the forward set, read in one listing.
        var traffic = _traffic?.ForwardTraffic();
        LeaseView[] leases = [.. _engine.Leases()
            .Where(l => l.IsLive(now))
            .Where(l => protocol is null || l.Protocol == protocol)
            .Where(l => client is null || l.Client.Equals(client))
            .Where(l => port is null || l.ExternalPort == port || l.InternalPort == port)
            .OrderBy(l => l.Id)
            .Select(l => View(l, now) is var view && traffic is not null && !l.IsPinhole && l.FilterList.Count == 0 && l.RemotePeer is null
                && traffic.TryGetValue((l.InternalAddress, l.Protocol == MappingProtocol.Tcp ? KernelBackend.TransportProtocol.Tcp : KernelBackend.TransportProtocol.Udp, l.InternalPort), out var counted)
                ? view with { Packets = counted.Packets, Bytes = counted.Bytes }
                : view)
            .Select(v => _upstream?.StateOf(v.Id) is { } upstream ? v with { Upstream = upstream } : v)];
        return WriteJsonAsync(response, leases, AdminJsonContext.Default.LeaseViewArray);
    }

    private Task LeaseAsync(HttpResponse response, string id)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out long leaseId))
        {
            return ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad lease id", $"'{id}' is not a lease id");
        }

        Lease? lease = _engine.Leases().FirstOrDefault(l => l.Id == leaseId && l.IsLive(now));
        return lease is null
            ? ProblemAsync(response, StatusCodes.Status404NotFound, "No such lease", $"There is no lease {leaseId}")
            : WriteJsonAsync(response, View(lease, now) with { Upstream = _upstream?.StateOf(lease.Id) }, AdminJsonContext.Default.LeaseView);
    }

    private async Task RevokeAsync(HttpResponse response, string id)
    {
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out long leaseId))
        {
            await ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad lease id", $"'{id}' is not a lease id").ConfigureAwait(false);
            return;
        }

        // Through the engine like every change: journaled and out of the kernel before this answers.
        if (!await _engine.RevokeAsync(leaseId).ConfigureAwait(false))
        {
            await ProblemAsync(response, StatusCodes.Status404NotFound, "No such lease", $"There is no lease {leaseId}").ConfigureAwait(false);
            return;
        }

        Log.AdminRevoked(_logger, leaseId);
        response.StatusCode = StatusCodes.Status204NoContent;
    }

    private DeviceView[] DeviceViews()
    {
        if (_devices is null)
        {
            return [];
        }

        DateTimeOffset now = _time.GetUtcNow();
        IReadOnlyList<(System.Net.IPAddress Address, ulong Mac)> hosts = _openNat?.Kernel.OpenNatHosts() ?? [];
        IReadOnlyList<KernelBackend.OpenNatMapping> mappings = _openNat?.Kernel.OpenNatMappings() ?? [];
        return [.. _devices.Entries(_engine.Leases(), now, hosts).Select(d => new DeviceView(
            d.Id.MacText ?? d.Id.Address?.ToString() ?? "?",
            d.Id.MacText,
            [.. d.Addresses.Select(a => a.ToString())],
            d.Hostname,
            d.FirstSeen,
            d.LastSeen,
            d.Leases,
            d.Allowed ? "allow" : "deny",
            d.PermissionSource,
            d.OpenNat,
            d.OpenNatSource,
            [.. mappings.Where(m => d.Addresses.Contains(m.InternalAddress)).OrderBy(m => m.ExternalPort)
                .Select(m => new OpenNatMappingView(m.ExternalPort, m.InternalAddress.ToString(), m.InternalPort, (long)Math.Ceiling(m.ExpiresIn.TotalSeconds)))]))];
    }

    private Task DevicesAsync(HttpResponse response) => WriteJsonAsync(response, DeviceViews(), AdminJsonContext.Default.DeviceViewArray);

    /// <summary>PUT /api/devices/{mac or address} { "permission": "allow" | "deny" }: saved, and a deny revokes at once.</summary>
    private async Task SetDeviceAsync(HttpRequest request, HttpResponse response, string key)
    {
        if (_devices is null || !Devices.DeviceDirectory.NormalizeKey(Uri.UnescapeDataString(key), out string? normalized))
        {
            await ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad device", $"'{key}' is neither a MAC address (aa:bb:cc:dd:ee:ff) nor an IP address").ConfigureAwait(false);
            return;
        }

        DeviceChange? change = null;
        try
        {
            if (request.ContentLength is null or <= 4096)
            {
                change = await System.Text.Json.JsonSerializer.DeserializeAsync(request.Body, AdminJsonContext.Default.DeviceChange).ConfigureAwait(false);
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        if (change is null || change.Permission is not (null or "allow" or "deny") || (change.Permission is null && change.OpenNat is null))
        {
            await ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad device change",
                "Send { \"permission\": \"allow\" | \"deny\" } and/or { \"openNat\": true | false } (at most 4 KB)").ConfigureAwait(false);
            return;
        }

        bool isMac = Devices.DeviceRule.TryParseMac(normalized!, out _);
        if (change.OpenNat is not null && (_openNat is null || !isMac && System.Net.IPAddress.Parse(normalized!).AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork))
        {
            await ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad device change", "Open NAT is for a MAC address or an IPv4 address").ConfigureAwait(false);
            return;
        }

        string? error = null;
        if ((change.Permission is { } permission && !_devices.TrySet(normalized!, permission == "allow", out error))
            || (change.OpenNat is { } on && !_devices.TrySetOpenNat(normalized!, on, out error)))
        {
            await ProblemAsync(response, StatusCodes.Status503ServiceUnavailable, "Not saved", error ?? "cannot save the change").ConfigureAwait(false);
            return;
        }

        if (change.Permission is { } set)
        {
            Log.DevicePermissionSet(_logger, normalized!, set);
            _events?.Publish(new Events.GatewayEvent(0, default, "permission-changed", isMac ? normalized : null, isMac ? null : normalized, Reason: set));
        }

        if (change.OpenNat is { } openNat)
        {
            Log.OpenNatSet(_logger, normalized!, openNat ? "on" : "off");
            _events?.Publish(new Events.GatewayEvent(0, default, "open-nat-changed", isMac ? normalized : null, isMac ? null : normalized, Reason: openNat ? "on" : "off"));
        }

        _events?.Flush();
        _openNat?.Apply();
        // Through the engine like every change: the denied device's leases are journaled out and gone from the
        // kernel before this answers.
        await _engine.EnforceDevicePermissionsAsync().ConfigureAwait(false);
        DeviceView? view = DeviceViews().FirstOrDefault(d => string.Equals(d.Id, normalized, StringComparison.OrdinalIgnoreCase));
        await WriteJsonAsync(response, view!, AdminJsonContext.Default.DeviceView).ConfigureAwait(false);
    }

    /// <summary>
    /// GET /api/events: with "Accept: text/event-stream", a Server-Sent Events stream (the kept events after
    /// Last-Event-ID or ?since=, then each new one, a comment every 15 s to keep it open); else the kept events after
    /// ?since= as a JSON array.
    /// </summary>
    private async Task EventsAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        string? sinceText = request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } last ? last : request.Query["since"].ToString();
        long since = 0;
        if (sinceText.Length > 0 && !long.TryParse(sinceText, NumberStyles.None, CultureInfo.InvariantCulture, out since))
        {
            await ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad event id", $"'{sinceText}' is not an event id").ConfigureAwait(false);
            return;
        }

        if (_events is null)
        {
            await WriteJsonAsync(response, Array.Empty<Events.GatewayEvent>(), AdminJsonContext.Default.GatewayEventArray).ConfigureAwait(false);
            return;
        }

        if (!request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            // ?last=N: only the newest N of them (what a page shows).
            int newest = int.MaxValue;
            if (request.Query["last"].ToString() is { Length: > 0 } lastText
                && (!int.TryParse(lastText, NumberStyles.None, CultureInfo.InvariantCulture, out newest) || newest == 0))
            {
                await ProblemAsync(response, StatusCodes.Status400BadRequest, "Bad count", $"'{lastText}' is not a positive count").ConfigureAwait(false);
                return;
            }

            List<Events.GatewayEvent> kept = _events.Since(since);
            await WriteJsonAsync(response, kept.Skip(Math.Max(0, kept.Count - newest)).ToArray(), AdminJsonContext.Default.GatewayEventArray).ConfigureAwait(false);
            return;
        }

        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers["X-Accel-Buffering"] = "no";
        System.Threading.Channels.ChannelReader<Events.GatewayEvent> feed = _events.Subscribe(since, out Action unsubscribe);
        try
        {
            await response.WriteAsync(": portmapper events\n\n", context.RequestAborted).ConfigureAwait(false);
            await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            while (!context.RequestAborted.IsCancellationRequested)
            {
                using var quiet = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                quiet.CancelAfter(TimeSpan.FromSeconds(15));
                bool more;
                try
                {
                    more = await feed.WaitToReadAsync(quiet.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
                {
                    await response.WriteAsync(": keep-alive\n\n", context.RequestAborted).ConfigureAwait(false);
                    await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                    continue;
                }

                if (!more)
                {
                    break; // fell behind and was dropped: the client reconnects with Last-Event-ID
                }

                while (feed.TryRead(out Events.GatewayEvent? e))
                {
                    await response.WriteAsync(Events.EventLog.ToServerSentEvent(e), context.RequestAborted).ConfigureAwait(false);
                }

                await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            unsubscribe();
        }
    }

    private StatusView Status()
    {
        GatewayStatus status = _state.Current;
        DateTimeOffset now = _time.GetUtcNow();
        Dictionary<string, int> counts = LeaseCounts(_engine.Leases(), now);
        return new StatusView(
            status.ExternalAddress?.ToString(),
            status.ExternalAddressReservedKind is not null,
            status.ExternalAddressReservedKind,
            status.EpochStart,
            GatewayState.EpochSeconds(status, now),
            (long)(now - _started).TotalSeconds,
            _options.WanInterface,
            [.. _options.LanInterfaces.Select(l => l.Name)],
            _options.Settings.FirewallMode.ToString().ToLowerInvariant(),
            counts,
            counts.Values.Sum(),
            status.KernelInSync,
            status.LastReconcile,
            new RtspView(_options.RtspHelper.ToString().ToLowerInvariant(), _rtsp?.Connections ?? 0, _media.OpenMediaCount),
            _metrics.RequestsPerMinute(),
            new UpstreamView(status.Upstream.Protocol, status.Upstream.Server?.ToString(), status.PublicAddress?.ToString(), status.Upstream.EpochSeconds,
                status.Upstream.Reason));
    }

    /// <summary>Live leases by the protocol that made them; every protocol is listed, with 0 when it has none.</summary>
    public static Dictionary<string, int> LeaseCounts(IEnumerable<Lease> leases, DateTimeOffset now)
    {
        var counts = Enum.GetValues<MappingOrigin>().ToDictionary(OriginName, _ => 0, StringComparer.Ordinal);
        foreach (Lease lease in leases.Where(l => l.IsLive(now)))
        {
            counts[OriginName(lease.Origin)]++;
        }

        return counts;
    }

    public static string OriginName(MappingOrigin origin) => origin switch
    {
        MappingOrigin.NatPmp => "natpmp",
        MappingOrigin.Pcp => "pcp",
        MappingOrigin.Upnp => "upnp",
        MappingOrigin.Admin => "admin",
        _ => "static",
    };

    public static LeaseView View(Lease lease, DateTimeOffset now) => new(
        lease.Id,
        lease.Protocol == MappingProtocol.Tcp ? "tcp" : "udp",
        OriginName(lease.Origin),
        lease.ExternalPort,
        lease.InternalAddress.ToString(),
        lease.InternalPort,
        lease.Client.ToString(),
        lease.Owner.MacText,
        lease.Description,
        lease.IsPinhole,
        lease.RemotePeer?.ToString(),
        [.. lease.FilterList.Select(f => f.Port == 0 ? f.Network.ToString() : $"{f.Network} port {f.Port}")],
        lease.Created,
        lease.Expires,
        lease.Expires is null ? null : lease.SecondsLeft(now));

    /// <summary>
    /// Serialized straight into the response, a buffer at a time: the lease list of a busy gateway is a megabyte of
    /// JSON, which as one string (and the pooled buffers it was built in, kept per thread) stayed in memory.
    /// </summary>
    private static Task WriteJsonAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type)
    {
        response.ContentType = Json;
        return JsonSerializer.SerializeAsync(response.Body, value, type, response.HttpContext.RequestAborted);
    }

    private static Task ProblemAsync(HttpResponse response, int status, string title, string detail)
    {
        response.StatusCode = status;
        response.ContentType = "application/problem+json; charset=utf-8";
        var problem = new ProblemView("about:blank", title, status, detail);
        return response.WriteAsync(JsonSerializer.Serialize(problem, AdminJsonContext.Default.ProblemView), Encoding.UTF8);
    }
}
