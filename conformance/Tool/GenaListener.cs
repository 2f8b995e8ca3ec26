using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace PortMapper.Conformance.Tool;

/// <summary>A GENA event callback on this host: accepts NOTIFY requests, answers 200, and queues what came.</summary>
internal sealed class GenaListener : IDisposable
{
    private readonly TcpListener _listener;
    private readonly Channel<HttpRequestRead> _received = Channel.CreateUnbounded<HttpRequestRead>();
    private readonly CancellationTokenSource _stop = new();

    public GenaListener(IPAddress local)
    {
        _listener = new TcpListener(local, 0);
        _listener.Start();
        Callback = new Uri($"http://{local}:{((IPEndPoint)_listener.LocalEndpoint).Port}/events");
        _ = AcceptAsync();
    }

    public Uri Callback { get; }

    public async Task<HttpRequestRead?> NextAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _received.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket client = await _listener.AcceptSocketAsync(_stop.Token);
                _ = ServeAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                var data = new MemoryStream();
                byte[] buffer = new byte[8192];
                while (data.Length < 1 << 20)
                {
                    int n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                    if (n == 0)
                    {
                        break;
                    }

                    data.Write(buffer, 0, n);
                    if (HttpRequestRead.TryParse(data.ToArray()) is { } request)
                    {
                        await client.SendAsync("HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 0\r\nCONNECTION: close\r\n\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
                        await _received.Writer.WriteAsync(request, cts.Token);
                        break;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}

/// <summary>An HTTP request as the callback read it.</summary>
internal sealed record HttpRequestRead(string Method, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out string? value) ? value : null;

    public static HttpRequestRead? TryParse(byte[] data)
    {
        int end = data.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return null;
        }

        string[] lines = Encoding.Latin1.GetString(data, 0, end).Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        int length = headers.TryGetValue("content-length", out string? text) && int.TryParse(text, out int n) ? n : 0;
        if (data.Length - end - 4 < length)
        {
            return null;
        }

        return new HttpRequestRead(lines[0].Split(' ')[0], headers, Encoding.UTF8.GetString(data, end + 4, length));
    }
}
