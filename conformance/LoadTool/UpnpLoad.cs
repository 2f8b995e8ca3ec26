using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PortMapper.Conformance.LoadTool;

/// <summary>
/// SOAP AddPortMapping load: <c>window</c> workers, each sending one request at a time over HTTP/1.1 connections
/// bound to the client address the mapping is for (secure mode allows nothing else): kept alive, or a new
/// connection for every request as miniupnpc makes them. Requests are written by hand, as a small client
/// library would, and every answer must be 200.
/// </summary>
internal sealed class UpnpLoad : IMappingLoad, IDisposable
{
    private const ushort FirstPort = 10000;
    private const string Service = "urn:schemas-upnp-org:service:WANIPConnection:1";

    private readonly IPAddress _gateway;
    private readonly int _port;
    private readonly IPAddress[] _clients;
    private readonly int _window;
    private readonly string _control;
    private readonly bool _connectionPerRequest;
    private readonly ConcurrentDictionary<int, ConcurrentBag<Connection>> _idle = new();
    private int _next;
    private int _errors;

    public UpnpLoad(IPAddress gateway, int port, string control, IReadOnlyList<IPAddress> clients, int window, bool connectionPerRequest)
    {
        _gateway = gateway;
        _port = port;
        _control = control;
        _clients = [.. clients];
        _window = window;
        _connectionPerRequest = connectionPerRequest;
    }

    public int Mapped { get; private set; }

    public int Errors => _errors;

    public int Lost => 0;

    /// <summary>Maps <paramref name="count"/> new ports; returns the elapsed seconds and each request's latency in ms.</summary>
    public async Task<(double Seconds, List<double> Latencies)> MapAsync(int count, uint lifetime)
    {
        int first = _next;
        _next += count;
        Mapped += count;
        return await RunAsync(first, count, n => Add(n, lifetime));
    }

    /// <summary>Deletes the last <paramref name="count"/> mappings made.</summary>
    public async Task DeleteLastAsync(int count)
    {
        _next -= count;
        Mapped -= count;
        await RunAsync(_next, count, Delete);
    }

    private async Task<(double, List<double>)> RunAsync(int first, int count, Func<int, string> body)
    {
        var latencies = new ConcurrentBag<double>();
        int taken = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, _window).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref taken) - 1) < count)
            {
                int n = first + i;
                long started = Stopwatch.GetTimestamp();
                bool ok = await SendAsync(n % _clients.Length, body(n));
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!ok)
                {
                    Interlocked.Increment(ref _errors);
                }
            }
        }));
        return (clock.Elapsed.TotalSeconds, [.. latencies]);
    }

    private ushort PortOf(int n) => (ushort)(FirstPort + n);

    private string Add(int n, uint lifetime) =>
        Envelope("AddPortMapping", string.Create(CultureInfo.InvariantCulture,
            $"<NewRemoteHost></NewRemoteHost><NewExternalPort>{PortOf(n)}</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>{PortOf(n)}</NewInternalPort>"
            + $"<NewInternalClient>{_clients[n % _clients.Length]}</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>load {n}</NewPortMappingDescription>"
            + $"<NewLeaseDuration>{lifetime}</NewLeaseDuration>"));

    private string Delete(int n) =>
        Envelope("DeletePortMapping", string.Create(CultureInfo.InvariantCulture,
            $"<NewRemoteHost></NewRemoteHost><NewExternalPort>{PortOf(n)}</NewExternalPort><NewProtocol>TCP</NewProtocol>"));

    private static string Envelope(string action, string arguments) =>
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
        + $"<s:Body><u:{action} xmlns:u=\"{Service}\">{arguments}</u:{action}></s:Body></s:Envelope>";

    private async Task<bool> SendAsync(int client, string body)
    {
        string action = body[(body.IndexOf("<u:", StringComparison.Ordinal) + 3)..body.IndexOf(" xmlns:u", StringComparison.Ordinal)];
        byte[] content = Encoding.UTF8.GetBytes(body);
        byte[] head = Encoding.ASCII.GetBytes(
            $"POST {_control} HTTP/1.1\r\nHost: {_gateway}:{_port}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
            + $"SOAPAction: \"{Service}#{action}\"\r\nContent-Length: {content.Length}\r\n\r\n");
        ConcurrentBag<Connection> idle = _idle.GetOrAdd(client, _ => []);
        if (!idle.TryTake(out Connection? connection))
        {
            connection = await Connection.OpenAsync(_clients[client], _gateway, _port);
        }

        try
        {
            int status = await connection.ExchangeAsync(head, content);
            if (_connectionPerRequest)
            {
                connection.Dispose();
            }
            else
            {
                idle.Add(connection);
            }

            return status == 200;
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidDataException)
        {
            connection.Dispose();
            return false;
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{_clients.Length} clients, {_window} concurrent {(_connectionPerRequest ? "connections, a new one per request" : "keep-alive connections")}");

    public void Dispose()
    {
        foreach (Connection c in _idle.Values.SelectMany(b => b))
        {
            c.Dispose();
        }
    }

    private sealed class Connection : IDisposable
    {
        private readonly Socket _socket;
        private readonly byte[] _buffer = new byte[8192];

        private Connection(Socket socket)
        {
            _socket = socket;
        }

        public static async Task<Connection> OpenAsync(IPAddress from, IPAddress gateway, int port)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            socket.Bind(new IPEndPoint(from, 0));
            await socket.ConnectAsync(gateway, port);
            return new Connection(socket);
        }

        /// <summary>Sends one request and reads its whole response; returns the status code.</summary>
        public async Task<int> ExchangeAsync(byte[] head, byte[] content)
        {
            await _socket.SendAsync(new[] { new ArraySegment<byte>(head), new ArraySegment<byte>(content) });
            int filled = 0;
            while (true)
            {
                int n = await _socket.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None);
                if (n == 0)
                {
                    throw new InvalidDataException("connection closed");
                }

                filled += n;
                string text = Encoding.ASCII.GetString(_buffer, 0, filled);
                int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end < 0)
                {
                    continue;
                }

                int at = text.IndexOf("Content-Length: ", StringComparison.OrdinalIgnoreCase);
                int length = at < 0 ? 0 : int.Parse(text.AsSpan(at + 16, text.IndexOf('\r', at) - at - 16), CultureInfo.InvariantCulture);
                if (filled >= end + 4 + length)
                {
                    return int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture);
                }
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}
