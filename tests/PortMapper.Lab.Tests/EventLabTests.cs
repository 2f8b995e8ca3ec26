using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose daemon POSTs its events to a webhook on the first LAN host.</summary>
public sealed class WebhookLab : GatewayLab
{
    public const int WebhookPort = 9121;

    public WebhookLab()
    {
        ConfigJson = $$"""{ "events": { "webhook": "http://192.168.77.10:{{WebhookPort}}/hook" } }""";
    }
}

/// <summary>
/// Events against the real daemon: an admin's Server-Sent Events stream sees a device seen for the first time, its
/// mapping granted, renewed and deleted, a permission change and the refusal that follows, each naming the device;
/// the same events reach the webhook as JSON POSTs, are served again with ?since=, printed by the CLI, and kept
/// across a restart with their ids.
/// </summary>
public partial class EventLabTests : IClassFixture<WebhookLab>
{
    private readonly WebhookLab _lab;

    public EventLabTests(WebhookLab lab)
    {
        _lab = lab;
    }

    private static byte[] NatPmpMap(ushort port, uint lifetime) =>
        [0, 1, 0, 0, (byte)(port >> 8), (byte)port, (byte)(port >> 8), (byte)port, (byte)(lifetime >> 24), (byte)(lifetime >> 16), (byte)(lifetime >> 8), (byte)lifetime];

    private async Task<int> NatPmpResultAsync(ushort port, uint lifetime)
    {
        byte[]? reply = await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, NatPmpMap(port, lifetime), TimeSpan.FromSeconds(2));
        Assert.NotNull(reply);
        return BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2));
    }

    private async Task<string> TokenAsync() => (await File.ReadAllTextAsync(Path.Combine(_lab.StateDirectory, "admin.token"))).Trim();

    /// <summary>An open event stream from the gateway's own namespace, read event by event.</summary>
    private sealed class EventStream : IDisposable
    {
        private readonly Socket _socket;
        private readonly StringBuilder _text = new();

        public EventStream(Socket socket)
        {
            _socket = socket;
        }

        public static async Task<EventStream> OpenAsync(string ns, string token, string? lastEventId = null)
        {
            Socket socket = NetNs.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
            await socket.ConnectAsync(IPAddress.Loopback, 8470);
            string request = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:8470\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + token + "\r\n"
                + (lastEventId is null ? string.Empty : "Last-Event-ID: " + lastEventId + "\r\n") + "\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None);
            var stream = new EventStream(socket);
            string head = await stream.ReadUntilAsync(": portmapper events\n\n", TimeSpan.FromSeconds(5));
            Assert.Contains("200 OK", head, StringComparison.Ordinal);
            Assert.Contains("text/event-stream", head, StringComparison.OrdinalIgnoreCase);
            return stream;
        }

        /// <summary>Reads until an event of this kind arrives; every event read on the way is returned too, in order.</summary>
        public async Task<List<(long Id, string Kind, JsonElement Data)>> UntilAsync(string kind, TimeSpan timeout)
        {
            var events = new List<(long, string, JsonElement)>();
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                foreach (Match m in EventPattern().Matches(_text.ToString()))
                {
                    events.Add((long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups[2].Value, JsonDocument.Parse(m.Groups[3].Value).RootElement.Clone()));
                }

                // Keep only what follows the last whole event.
                int end = _text.ToString().LastIndexOf("\n\n", StringComparison.Ordinal);
                if (end >= 0)
                {
                    _text.Remove(0, end + 2);
                }

                if (events.Any(e => e.Item2 == kind))
                {
                    return events;
                }

                byte[] buffer = new byte[8192];
                int n;
                try
                {
                    n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new Xunit.Sdk.XunitException($"no '{kind}' event within {timeout}; got: {string.Join(", ", events.Select(e => e.Item2))}");
                }

                if (n == 0)
                {
                    throw new Xunit.Sdk.XunitException($"the stream ended before a '{kind}' event");
                }

                // Chunked transfer: the chunk sizes are lines of their own that no event pattern matches.
                _text.Append(Encoding.UTF8.GetString(buffer, 0, n).Replace("\r\n", "\n", StringComparison.Ordinal));
            }
        }

        private async Task<string> ReadUntilAsync(string marker, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            var all = new StringBuilder();
            byte[] buffer = new byte[8192];
            while (!all.ToString().Contains(marker, StringComparison.Ordinal))
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    break;
                }

                all.Append(Encoding.UTF8.GetString(buffer, 0, n).Replace("\r\n", "\n", StringComparison.Ordinal));
            }

            // Events sent right behind the opening comment stay for UntilAsync.
            string text = all.ToString();
            int end = text.IndexOf(marker, StringComparison.Ordinal);
            _text.Append(end < 0 ? string.Empty : text[(end + marker.Length)..]);
            return text;
        }

        public void Dispose() => _socket.Dispose();
    }

    /// <summary>The webhook on the first LAN host: every POST body, answered 204.</summary>
    private sealed class WebhookReceiver : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<JsonElement> _received = [];
        private readonly Task _loop;

        public WebhookReceiver(string ns)
        {
            _listener = NetNs.Run(ns, () =>
            {
                var l = new TcpListener(IPAddress.Any, WebhookLab.WebhookPort);
                l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                l.Start();
                return l;
            });
            _loop = Task.Run(LoopAsync);
        }

        public List<string> RequestLines { get; } = [];

        public List<JsonElement> Received
        {
            get
            {
                lock (_received)
                {
                    return [.. _received];
                }
            }
        }

        private async Task LoopAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    using TcpClient client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    NetworkStream stream = client.GetStream();
                    // One request per connection or several (keep-alive): read each head, then its Content-Length body.
                    var pending = new List<byte>();
                    byte[] buffer = new byte[8192];
                    while (true)
                    {
                        int headEnd = IndexOf(pending, "\r\n\r\n"u8);
                        if (headEnd < 0)
                        {
                            int n = await stream.ReadAsync(buffer, _stop.Token);
                            if (n == 0)
                            {
                                break;
                            }

                            pending.AddRange(buffer.AsSpan(0, n));
                            continue;
                        }

                        string head = Encoding.ASCII.GetString([.. pending.Take(headEnd)]);
                        int length = int.Parse(Regex.Match(head, @"Content-Length:\s*(\d+)", RegexOptions.IgnoreCase).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                        while (pending.Count < headEnd + 4 + length)
                        {
                            int n = await stream.ReadAsync(buffer, _stop.Token);
                            if (n == 0)
                            {
                                return;
                            }

                            pending.AddRange(buffer.AsSpan(0, n));
                        }

                        string body = Encoding.UTF8.GetString([.. pending.Skip(headEnd + 4).Take(length)]);
                        pending.RemoveRange(0, headEnd + 4 + length);
                        lock (_received)
                        {
                            RequestLines.Add(head.Split("\r\n")[0] + " " + (Regex.Match(head, @"Content-Type:\s*([^\r\n;]+)", RegexOptions.IgnoreCase).Groups[1].Value));
                            _received.Add(JsonDocument.Parse(body).RootElement.Clone());
                        }

                        await stream.WriteAsync("HTTP/1.1 204 No Content\r\n\r\n"u8.ToArray(), _stop.Token);
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
            }
        }

        private static int IndexOf(List<byte> data, ReadOnlySpan<byte> marker)
        {
            for (int i = 0; i + marker.Length <= data.Count; i++)
            {
                int j = 0;
                while (j < marker.Length && data[i + j] == marker[j])
                {
                    j++;
                }

                if (j == marker.Length)
                {
                    return i;
                }
            }

            return -1;
        }

        public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> match, TimeSpan timeout)
        {
            DateTime until = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < until)
            {
                if (Received.FirstOrDefault(match) is { ValueKind: JsonValueKind.Object } found)
                {
                    return found;
                }

                await Task.Delay(50);
            }

            throw new Xunit.Sdk.XunitException($"the webhook did not receive it; got: {string.Join(", ", Received.Select(r => r.GetProperty("kind").GetString()))}");
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            try
            {
                _loop.Wait(TimeSpan.FromSeconds(2));
            }
            catch (AggregateException)
            {
            }

            _stop.Dispose();
        }
    }

    [Fact]
    public async Task Events_StreamWebhookSinceAndCli_FollowAMappingAndAPermission()
    {
        string mac = MacPattern().Match((await Shell.CheckedAsync(_lab.Lan1, "ip", "-br", "link", "show", "eth0")).Output).Value;
        Assert.NotEmpty(mac);
        string token = await TokenAsync();
        using var webhook = new WebhookReceiver(_lab.Lan1);
        using EventStream stream = await EventStream.OpenAsync(_lab.Gw, token);

        // A new device maps a port: seen, then granted, naming the device, protocol, ports, origin and lifetime.
        Assert.Equal(0, await NatPmpResultAsync(7300, 600));
        List<(long Id, string Kind, JsonElement Data)> got = await stream.UntilAsync("granted", TimeSpan.FromSeconds(5));
        (long seenId, _, JsonElement seen) = got.Single(e => e.Kind == "device-seen");
        Assert.Equal(mac, seen.GetProperty("mac").GetString());
        Assert.Equal("192.168.77.10", seen.GetProperty("address").GetString());
        (long grantedId, _, JsonElement granted) = got.Single(e => e.Kind == "granted");
        Assert.True(grantedId > seenId);
        Assert.Equal((mac, "udp", 7300, "192.168.77.10", 7300, "natpmp"), (granted.GetProperty("mac").GetString(), granted.GetProperty("protocol").GetString(),
            granted.GetProperty("externalPort").GetInt32(), granted.GetProperty("internalAddress").GetString(), granted.GetProperty("internalPort").GetInt32(),
            granted.GetProperty("origin").GetString()));
        Assert.InRange(granted.GetProperty("lifetime").GetInt64(), 590, 600);

        // Renewed, then deleted by the client.
        Assert.Equal(0, await NatPmpResultAsync(7300, 900));
        JsonElement renewed = (await stream.UntilAsync("renewed", TimeSpan.FromSeconds(5))).Single(e => e.Kind == "renewed").Data;
        Assert.InRange(renewed.GetProperty("lifetime").GetInt64(), 890, 900);
        Assert.Equal(0, await NatPmpResultAsync(7300, 0));
        JsonElement deleted = (await stream.UntilAsync("deleted", TimeSpan.FromSeconds(5))).Single(e => e.Kind == "deleted").Data;
        Assert.Equal(granted.GetProperty("leaseId").GetInt64(), deleted.GetProperty("leaseId").GetInt64());

        // The admin denies the device: a permission-changed event; its next request is refused, with the reason.
        ProcessResult deny = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-sf", "-X", "PUT", "-H", "Authorization: Bearer " + token,
            "--data", "{\"permission\":\"deny\"}", "http://127.0.0.1:8470/api/devices/" + mac);
        Assert.True(deny.ExitCode == 0, deny.ToString());
        JsonElement changed = (await stream.UntilAsync("permission-changed", TimeSpan.FromSeconds(5))).Single(e => e.Kind == "permission-changed").Data;
        Assert.Equal((mac, "deny"), (changed.GetProperty("mac").GetString(), changed.GetProperty("reason").GetString()));
        Assert.Equal(2, await NatPmpResultAsync(7301, 600));
        (long refusedId, _, JsonElement refused) = (await stream.UntilAsync("refused", TimeSpan.FromSeconds(5))).Single(e => e.Kind == "refused");
        Assert.Equal((mac, "not authorized", 7301), (refused.GetProperty("mac").GetString(), refused.GetProperty("reason").GetString(), refused.GetProperty("externalPort").GetInt32()));

        // The webhook got each of them as a JSON POST.
        foreach (string kind in new[] { "device-seen", "granted", "renewed", "deleted", "permission-changed", "refused" })
        {
            JsonElement posted = await webhook.WaitForAsync(e => e.GetProperty("kind").GetString() == kind, TimeSpan.FromSeconds(10));
            Assert.Equal(mac, posted.GetProperty("mac").GetString());
        }

        Assert.All(webhook.RequestLines, line => Assert.Equal("POST /hook HTTP/1.1 application/json", line));

        // Served again: all of them after ?since=, none after the last; the CLI prints them, one per line.
        ProcessResult all = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-sf", "-H", "Authorization: Bearer " + token, "http://127.0.0.1:8470/api/events?since=" + (seenId - 1));
        Assert.True(all.ExitCode == 0, all.ToString());
        Assert.Equal(["device-seen", "granted", "renewed", "deleted", "permission-changed", "refused"],
            JsonDocument.Parse(all.Output).RootElement.EnumerateArray().Select(e => e.GetProperty("kind").GetString()));
        ProcessResult none = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-sf", "-H", "Authorization: Bearer " + token, "http://127.0.0.1:8470/api/events?since=" + refusedId);
        Assert.Equal("[]", none.Output.Trim());
        ProcessResult bad = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Bearer " + token, "http://127.0.0.1:8470/api/events?since=x");
        Assert.Equal("400", bad.Output.Trim());
        ProcessResult noToken = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:8470/api/events");
        Assert.Equal("401", noToken.Output.Trim());
        ProcessResult cli = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "events", "--since", (grantedId - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "--state-dir", _lab.StateDirectory);
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.Matches($@"(?m)^{grantedId} \S+ \S+ granted {mac} udp 7300 -> 192\.168\.77\.10:7300 natpmp \d+s$", cli.Output);
        Assert.Matches($@"(?m)^{refusedId} .* refused {mac} udp 7301 .*: not authorized$", cli.Output);

        // Kept across a restart, ids and all; a stream resumed with Last-Event-ID gets only what came after.
        await _lab.Daemon!.StopAsync();
        await _lab.Daemon.StartAsync();
        ProcessResult after = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-sf", "-H", "Authorization: Bearer " + token, "http://127.0.0.1:8470/api/events?since=" + (seenId - 1));
        Assert.Equal(all.Output, after.Output);
        using EventStream resumed = await EventStream.OpenAsync(_lab.Gw, token, lastEventId: grantedId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        List<(long Id, string Kind, JsonElement Data)> replay = await resumed.UntilAsync("refused", TimeSpan.FromSeconds(5));
        Assert.Equal(["renewed", "deleted", "permission-changed", "refused"], replay.Select(e => e.Kind));

        await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "devices", "allow", mac, "--state-dir", _lab.StateDirectory);
    }

    [GeneratedRegex(@"id: (\d+)\nevent: ([a-z-]+)\ndata: (\{.*\})\n\n")]
    private static partial Regex EventPattern();

    [GeneratedRegex("([0-9a-f]{2}:){5}[0-9a-f]{2}")]
    private static partial Regex MacPattern();
}
