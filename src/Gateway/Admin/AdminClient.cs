using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PortMapper.Gateway.Admin;

/// <summary>The CLI side of the admin endpoint: <c>portmapper leases</c>, <c>revoke</c> and <c>status</c>, printed as tables.</summary>
public sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(string endpoint, string token)
    {
        _http = new HttpClient { BaseAddress = new Uri($"http://{endpoint}/"), Timeout = TimeSpan.FromSeconds(10) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public async Task<int> LeasesAsync(TextWriter output, string query)
    {
        using HttpResponseMessage response = await _http.GetAsync("api/leases" + query).ConfigureAwait(false);
        if (await FailureAsync(response).ConfigureAwait(false) is { } failure)
        {
            return Fail(failure);
        }

        LeaseView[] leases = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync().ConfigureAwait(false), AdminJsonContext.Default.LeaseViewArray) ?? [];
        var rows = new List<string[]> { new[] { "ID", "PROTO", "EXTERNAL", "INTERNAL", "CLIENT", "DEVICE", "ORIGIN", "LEFT", "DESCRIPTION" } };
        rows.AddRange(leases.Select(l => new[]
        {
            l.Id.ToString(CultureInfo.InvariantCulture),
            l.Protocol,
            l.Pinhole ? "pinhole" : l.ExternalPort.ToString(CultureInfo.InvariantCulture),
            l.Pinhole ? $"[{l.InternalAddress}]:{l.InternalPort}" : $"{l.InternalAddress}:{l.InternalPort}",
            l.Client,
            l.Device ?? "-",
            l.Origin,
            Duration(l.SecondsLeft),
            l.Description,
        }));
        if (leases.Any(l => l.Upstream is not null))
        {
            // Behind another NAT: where each lease stands at the upstream gateway.
            rows[0] = [.. rows[0], "UPSTREAM"];
            for (int i = 0; i < leases.Length; i++)
            {
                rows[i + 1] = [.. rows[i + 1], leases[i].Upstream ?? "-"];
            }
        }

        await output.WriteAsync(Table(rows)).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{leases.Length} lease(s)")).ConfigureAwait(false);
        return 0;
    }

    public async Task<int> DevicesAsync(TextWriter output)
    {
        using HttpResponseMessage response = await _http.GetAsync("api/devices").ConfigureAwait(false);
        if (await FailureAsync(response).ConfigureAwait(false) is { } failure)
        {
            return Fail(failure);
        }

        DeviceView[] devices = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync().ConfigureAwait(false), AdminJsonContext.Default.DeviceViewArray) ?? [];
        await WriteDevicesAsync(output, devices).ConfigureAwait(false);
        return 0;
    }

    /// <summary>PUT /api/devices/{device}: allow or deny; a denied device's leases are gone when this returns.</summary>
    public Task<int> SetDeviceAsync(TextWriter output, string device, bool allow) =>
        ChangeDeviceAsync(output, device, allow ? "{\"permission\":\"allow\"}" : "{\"permission\":\"deny\"}");

    /// <summary>PUT /api/devices/{device}: Open NAT on or off; the kernel has it when this returns.</summary>
    public Task<int> SetOpenNatAsync(TextWriter output, string device, bool on) =>
        ChangeDeviceAsync(output, device, on ? "{\"openNat\":true}" : "{\"openNat\":false}");

    private async Task<int> ChangeDeviceAsync(TextWriter output, string device, string change)
    {
        using var body = new StringContent(change, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.PutAsync("api/devices/" + Uri.EscapeDataString(device), body).ConfigureAwait(false);
        if (await FailureAsync(response).ConfigureAwait(false) is { } failure)
        {
            return Fail(failure);
        }

        DeviceView? view = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync().ConfigureAwait(false), AdminJsonContext.Default.DeviceView);
        await WriteDevicesAsync(output, view is null ? [] : [view]).ConfigureAwait(false);
        return 0;
    }

    private static async Task WriteDevicesAsync(TextWriter output, IReadOnlyList<DeviceView> devices)
    {
        var rows = new List<string[]> { new[] { "DEVICE", "NAME", "ADDRESSES", "LEASES", "PERMISSION", "OPEN NAT", "LAST SEEN" } };
        rows.AddRange(devices.Select(d => new[]
        {
            d.Id,
            d.Hostname ?? "-",
            d.Addresses.Count == 0 ? "-" : string.Join(' ', d.Addresses),
            d.Leases.ToString(CultureInfo.InvariantCulture),
            $"{d.Permission} ({d.PermissionSource})",
            d.OpenNatSource == "off" ? "off" : $"{(d.OpenNat ? "on" : "off")} ({d.OpenNatSource}){(d.OpenNatMappings is { Count: > 0 } m ? ": " + string.Join(' ', m.Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.ExternalPort}->{x.InternalPort}"))) : string.Empty)}",
            d.LastSeen?.ToString("u", CultureInfo.InvariantCulture) ?? "-",
        }));
        await output.WriteAsync(Table(rows)).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{devices.Count} device(s)")).ConfigureAwait(false);
    }

    /// <summary><c>portmapper events</c>: the kept events after <paramref name="since"/>, one per line; with follow, then each new one.</summary>
    public async Task<int> EventsAsync(TextWriter output, long since, bool follow, CancellationToken cancellationToken)
    {
        if (!follow)
        {
            using HttpResponseMessage response = await _http.GetAsync(string.Create(CultureInfo.InvariantCulture, $"api/events?since={since}"), cancellationToken).ConfigureAwait(false);
            if (await FailureAsync(response).ConfigureAwait(false) is { } failure)
            {
                return Fail(failure);
            }

            foreach (Events.GatewayEvent e in JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false), AdminJsonContext.Default.GatewayEventArray) ?? [])
            {
                await output.WriteLineAsync(Line(e)).ConfigureAwait(false);
            }

            return 0;
        }

        _http.Timeout = Timeout.InfiniteTimeSpan;
        using var request = new HttpRequestMessage(HttpMethod.Get, string.Create(CultureInfo.InvariantCulture, $"api/events?since={since}"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using HttpResponseMessage stream = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (await FailureAsync(stream).ConfigureAwait(false) is { } streamFailure)
        {
            return Fail(streamFailure);
        }

        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        try
        {
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal)
                    && JsonSerializer.Deserialize(line["data: ".Length..], AdminJsonContext.Default.GatewayEvent) is { } e)
                {
                    await output.WriteLineAsync(Line(e)).ConfigureAwait(false);
                    await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    private static string Line(Events.GatewayEvent e)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{e.Id} {e.Time.ToString("u", CultureInfo.InvariantCulture)} {e.Kind}");
        text.Append(' ').Append(e.Mac ?? e.Address ?? "-");
        if (e.Hostname is { } name)
        {
            text.Append(" (").Append(name).Append(')');
        }

        if (e.Protocol is { } protocol)
        {
            text.Append(' ').Append(protocol).Append(' ').Append(e.ExternalPort?.ToString(CultureInfo.InvariantCulture) ?? "-")
                .Append(" -> ").Append(e.InternalAddress).Append(':').Append(e.InternalPort?.ToString(CultureInfo.InvariantCulture));
        }

        if (e.Origin is { } origin)
        {
            text.Append(' ').Append(origin);
        }

        if (e.Lifetime is { } lifetime)
        {
            text.Append(CultureInfo.InvariantCulture, $" {lifetime}s");
        }

        if (e.Reason is { } reason)
        {
            text.Append(": ").Append(reason);
        }

        return text.ToString();
    }

    public async Task<int> RevokeAsync(TextWriter output, long id)
    {
        using HttpResponseMessage response = await _http.DeleteAsync(string.Create(CultureInfo.InvariantCulture, $"api/leases/{id}")).ConfigureAwait(false);
        if (await FailureAsync(response).ConfigureAwait(false) is { } failure)
        {
            return Fail(failure);
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"revoked lease {id}")).ConfigureAwait(false);
        return 0;
    }

    public async Task<int> StatusAsync(TextWriter output)
    {
        using HttpResponseMessage response = await _http.GetAsync("api/status").ConfigureAwait(false);
        if (await FailureAsync(response).ConfigureAwait(false) is { } failure)
        {
            return Fail(failure);
        }

        StatusView s = JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync().ConfigureAwait(false), AdminJsonContext.Default.StatusView)!;
        var rows = new List<string[]>
        {
            new[] { "external address", (s.ExternalAddress ?? "none") + (s.ExternalAddressIsReserved ? $" ({s.ExternalAddressKind})" : string.Empty) },
            new[] { "epoch", $"{Duration(s.EpochSeconds)} (since {s.EpochStart.ToString("u", CultureInfo.InvariantCulture)})" },
            new[] { "uptime", Duration(s.UptimeSeconds) },
            new[] { "interfaces", $"WAN {s.Wan}; LAN {string.Join(", ", s.Lan)}" },
            new[] { "firewall", $"{s.FirewallMode}; kernel {(s.KernelInSync ? "in sync" : "NOT in sync")}" + (s.LastReconcile is { } at ? $" (rebuilt {at.ToString("u", CultureInfo.InvariantCulture)})" : string.Empty) },
            new[] { "leases", $"{s.LeaseTotal} (" + string.Join(", ", s.Leases.Select(p => $"{p.Key} {p.Value}")) + ")" },
            new[] { "upstream", s.Upstream is not { } up ? "-"
                : up.Protocol is "pcp" or "natpmp" or "upnp" ? $"{up.Protocol} at {up.Server}, public address {up.PublicAddress ?? "unknown"}" + (up.EpochSeconds is { } e ? $" (epoch {e} s)" : string.Empty)
                    + (up.Reason is { Length: > 0 } why ? "; " + why : string.Empty)
                : $"{up.Protocol}: {up.Reason}" },
            new[] { "rtsp helper", s.Rtsp is not { } rtsp ? "-" : rtsp.Helper == "observer" ? $"the daemon's own: {rtsp.Connections} connection(s), {rtsp.MediaPorts} media port(s) open" : rtsp.Helper },
        };
        await output.WriteAsync(Table(rows)).ConfigureAwait(false);
        return 0;
    }

    public void Dispose() => _http.Dispose();

    private static async Task<string?> FailureAsync(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        string detail;
        try
        {
            detail = JsonSerializer.Deserialize(body, AdminJsonContext.Default.ProblemView)?.Detail ?? body;
        }
        catch (JsonException)
        {
            detail = body;
        }

        return response.StatusCode == HttpStatusCode.Unauthorized
            ? $"the admin endpoint refused the token: {detail}"
            : $"{(int)response.StatusCode} {response.ReasonPhrase}: {detail}";
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 1;
    }

    public static string Duration(long? seconds)
    {
        if (seconds is not { } s)
        {
            return "permanent";
        }

        var parts = new List<string>();
        if (s >= 86400)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{s / 86400}d"));
        }

        if (s >= 3600)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{s % 86400 / 3600}h"));
        }

        if (s >= 60)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{s % 3600 / 60}m"));
        }

        parts.Add(string.Create(CultureInfo.InvariantCulture, $"{s % 60}s"));
        return string.Join(' ', parts);
    }

    /// <summary>Columns padded to their widest cell, two spaces apart.</summary>
    public static string Table(IReadOnlyList<string[]> rows)
    {
        int columns = rows.Max(r => r.Length);
        int[] widths = [.. Enumerable.Range(0, columns).Select(c => rows.Max(r => c < r.Length ? r[c].Length : 0))];
        var text = new StringBuilder();
        foreach (string[] row in rows)
        {
            for (int c = 0; c < row.Length; c++)
            {
                text.Append(c == row.Length - 1 ? row[c] : row[c].PadRight(widths[c] + 2));
            }

            text.Append('\n');
        }

        return text.ToString();
    }
}
