using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PortMapper.Conformance.Tool;

/// <summary>An HTTP answer as read off the wire.</summary>
internal sealed record HttpReply(int Status, string StatusLine, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out string? value) ? value : null;
}

/// <summary>
/// The suite's only way to the gateway: UDP exchanges with its port-control and SSDP ports, raw HTTP to its UPnP
/// server, and the list of what to undo at the end. Nothing here sends to any other address.
/// </summary>
internal sealed class GatewayProbe
{
    public const int PortControlPort = 5351;
    public const int SsdpPort = 1900;

    private readonly ConcurrentStack<(string What, Func<Task> Undo)> _undo = new();

    public GatewayProbe(IPAddress gateway)
    {
        Address = gateway;
        using var probe = new Socket(gateway.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(new IPEndPoint(gateway, PortControlPort));
        LocalAddress = ((IPEndPoint)probe.LocalEndPoint!).Address;
    }

    public IPAddress Address { get; }

    /// <summary>The UPnP discovery of this run, made once by the first case that needs it.</summary>
    public Task<UpnpClient?>? Upnp { get; set; }

    /// <summary>The WAN helper of this run, connected once by the first dataplane case.</summary>
    public Task<WanHelper?>? Helper { get; set; }

    /// <summary>This host's address towards the gateway: the client the gateway sees.</summary>
    public IPAddress LocalAddress { get; }

    /// <summary>Remembers how to take back something the suite made on the gateway.</summary>
    public void OnCleanup(string what, Func<Task> undo) => _undo.Push((what, undo));

    /// <summary>Takes back everything the suite made, newest first; returns what could not be undone.</summary>
    public async Task<List<string>> CleanupAsync()
    {
        var failed = new List<string>();
        while (_undo.TryPop(out (string What, Func<Task> Undo) item))
        {
            try
            {
                await item.Undo().WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is SocketException or TimeoutException or IOException or CaseFailedException or InvalidOperationException)
            {
                failed.Add($"{item.What}: {e.Message}");
            }
        }

        return failed;
    }

    public Socket Udp(IPAddress? from = null, int port = 0)
    {
        var socket = new Socket(Address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(from ?? LocalAddress, port));
        return socket;
    }

    /// <summary>
    /// Sends <paramref name="request"/> to the gateway's <paramref name="port"/> and waits for one answer from there,
    /// resending twice (RFC 6886 §3.1 and RFC 6887 §8.1.1 have clients retransmit); null when it stays silent.
    /// </summary>
    public async Task<byte[]?> ExchangeAsync(Socket socket, int port, byte[] request, TimeSpan? wait = null, int attempts = 3)
    {
        var server = new IPEndPoint(Address, port);
        TimeSpan timeout = wait ?? TimeSpan.FromMilliseconds(700);
        byte[] buffer = new byte[4096];
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            await socket.SendToAsync(request, SocketFlags.None, server);
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                while (true)
                {
                    SocketReceiveFromResult got = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(Address.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0), cts.Token);
                    if (got.RemoteEndPoint is IPEndPoint source && source.Address.Equals(Address) && source.Port == port)
                    {
                        return buffer[..got.ReceivedBytes];
                    }
                }
            }
            catch (OperationCanceledException)
            {
                timeout *= 2;
            }
        }

        return null;
    }

    public async Task<byte[]?> ExchangeAsync(int port, byte[] request, IPAddress? from = null)
    {
        using Socket socket = Udp(from);
        return await ExchangeAsync(socket, port, request);
    }

    /// <summary>
    /// Sends <paramref name="request"/>, which the gateway must ignore, then <paramref name="probe"/>, which it must
    /// answer: silence is proven by the probe's answer coming first (the gateway read both in order), not by a
    /// fixed wait. Returns what came first: null when it was the probe's answer.
    /// </summary>
    public async Task<byte[]?> AnswerBeforeProbeAsync(int port, byte[] request, byte[] probe, Func<byte[], bool> isProbeAnswer)
    {
        using Socket socket = Udp();
        var server = new IPEndPoint(Address, port);
        await socket.SendToAsync(request, SocketFlags.None, server);
        byte[]? first = await ExchangeAsync(socket, port, probe, TimeSpan.FromSeconds(1));
        if (first is null)
        {
            throw new CaseFailedException("an answer to a valid request sent right after", "silence: is the gateway still serving?");
        }

        return isProbeAnswer(first) ? null : first;
    }

    /// <summary>One HTTP exchange over a fresh connection (Connection: close); the raw request is sent as is.</summary>
    public static Task<HttpReply?> HttpFromAsync(IPAddress from, IPEndPoint server, byte[] request) => HttpAsync(server, request, from: from);

    public static async Task<HttpReply?> HttpAsync(IPEndPoint server, byte[] request, TimeSpan? timeout = null, CancellationToken cancellation = default, IPAddress? from = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(5));
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (from is not null)
            {
                socket.Bind(new IPEndPoint(from, 0));
            }

            await socket.ConnectAsync(server, cts.Token);
            try
            {
                await socket.SendAsync(request, SocketFlags.None, cts.Token);
            }
            catch (SocketException)
            {
                // The server may answer (413, 400) and close before taking the whole request: read what it said.
            }

            var received = new MemoryStream();
            byte[] buffer = new byte[16384];
            while (received.Length < 4 << 20)
            {
                int n;
                try
                {
                    n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                }
                catch (SocketException) when (received.Length > 0)
                {
                    break;
                }

                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
                if (HttpReplyParser.IsComplete(received.GetBuffer().AsSpan(0, (int)received.Length)))
                {
                    break;
                }
            }

            return HttpReplyParser.Parse(received.ToArray());
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    public static byte[] HttpRequest(string method, Uri url, IEnumerable<(string Name, string Value)> headers, string? body = null)
    {
        var text = new StringBuilder();
        text.Append(method).Append(' ').Append(url.PathAndQuery).Append(" HTTP/1.1\r\n");
        text.Append("HOST: ").Append(url.Authority).Append("\r\n");
        foreach ((string name, string value) in headers)
        {
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        byte[] content = body is null ? [] : Encoding.UTF8.GetBytes(body);
        if (body is not null)
        {
            text.Append("CONTENT-LENGTH: ").Append(content.Length).Append("\r\n");
        }

        text.Append("CONNECTION: close\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(text.ToString()), .. content];
    }

    public static IPEndPoint EndPointOf(Uri url) => new(IPAddress.Parse(url.IdnHost), url.Port);
}

/// <summary>Reads an HTTP/1.x response: status line, headers, and a body by Content-Length, chunks or close.</summary>
internal static class HttpReplyParser
{
    public static bool IsComplete(ReadOnlySpan<byte> data)
    {
        int end = data.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return false;
        }

        HttpReply? head = Parse(data[..(end + 4)].ToArray(), headOnly: true);
        if (head?.Header("content-length") is { } length && int.TryParse(length, out int n))
        {
            return data.Length - end - 4 >= n;
        }

        return head?.Header("transfer-encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true
            && data[(end + 4)..].IndexOf("\r\n0\r\n"u8) >= 0 || data[(end + 4)..].StartsWith("0\r\n"u8);
    }

    public static HttpReply? Parse(byte[] data, bool headOnly = false)
    {
        int end = data.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return null;
        }

        string[] lines = Encoding.Latin1.GetString(data, 0, end).Split("\r\n");
        string[] status = lines[0].Split(' ', 3);
        if (status.Length < 2 || !status[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(status[1], out int code))
        {
            return null;
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                string name = line[..colon].Trim();
                headers[name] = headers.TryGetValue(name, out string? before) ? before + ", " + line[(colon + 1)..].Trim() : line[(colon + 1)..].Trim();
            }
        }

        if (headOnly)
        {
            return new HttpReply(code, lines[0], headers, string.Empty);
        }

        byte[] body = data[(end + 4)..];
        if (headers.TryGetValue("transfer-encoding", out string? encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }
        else if (headers.TryGetValue("content-length", out string? length) && int.TryParse(length, out int n) && n <= body.Length)
        {
            body = body[..n];
        }

        return new HttpReply(code, lines[0], headers, Encoding.UTF8.GetString(body));
    }

    private static byte[] Dechunk(byte[] body)
    {
        var output = new MemoryStream();
        int at = 0;
        while (at < body.Length)
        {
            int lineEnd = body.AsSpan(at).IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                break;
            }

            string sizeText = Encoding.ASCII.GetString(body, at, lineEnd).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out int size) || size == 0)
            {
                break;
            }

            at += lineEnd + 2;
            output.Write(body, at, Math.Min(size, body.Length - at));
            at += size + 2;
        }

        return output.ToArray();
    }
}
