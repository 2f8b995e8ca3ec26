using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortMapper.Conformance.PcpClient;

namespace PortMapper.Conformance.LoadTool;

/// <summary>
/// Map requests for distinct ports from many client addresses, with a bounded window of requests in flight:
/// NAT-PMP requests written here by hand from RFC 6886 §3.3, or PCP MAP requests from the conformance suite's
/// PCP client; never with the daemon's codec.
/// </summary>
internal sealed class PortControlLoad : IMappingLoad, IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(2);

    private readonly IPEndPoint _gateway;
    private readonly bool _pcp;
    private readonly IReadOnlyList<IPAddress> _addresses;
    private readonly byte[] _nonce = PcpMessage.NewNonce();
    private readonly Socket[] _clients;
    private readonly int _window;
    private readonly ConcurrentDictionary<(int Client, ushort Port), long> _pending = new();
    private readonly SemaphoreSlim _slots;
    private readonly List<double> _latencies = [];
    private readonly Lock _lock = new();
    private int _errors;
    private int _nextPort;

    public PortControlLoad(IPAddress gateway, IReadOnlyList<IPAddress> clients, int window, bool pcp)
    {
        _gateway = new IPEndPoint(gateway, 5351);
        _pcp = pcp;
        _addresses = clients;
        _window = window;
        _slots = new SemaphoreSlim(window);
        _clients = [.. clients.Select(a =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.ReceiveBufferSize = 1 << 20;
            s.Bind(new IPEndPoint(a, 0));
            return s;
        })];
    }

    public int Mapped { get; private set; }

    public int Errors => _errors;

    public int Lost { get; private set; }

    public void StartReceivers(CancellationToken cancellationToken)
    {
        for (int i = 0; i < _clients.Length; i++)
        {
            int client = i;
            _ = Task.Run(() => ReceiveLoop(client, cancellationToken), cancellationToken);
        }
    }

    /// <summary>Maps <paramref name="count"/> new ports (spread over the clients); returns the latencies in ms.</summary>
    public async Task<(double Seconds, List<double> Latencies)> MapAsync(int count, uint lifetime)
    {
        lock (_lock)
        {
            _latencies.Clear();
        }

        var requests = new List<(int Client, ushort Port)>(count);
        for (int i = 0; i < count; i++)
        {
            int index = _nextPort++;
            requests.Add((index % _clients.Length, (ushort)(20000 + index)));
        }

        var clock = Stopwatch.StartNew();
        await RunAsync(requests, lifetime);
        double seconds = clock.Elapsed.TotalSeconds;
        Mapped += count;
        lock (_lock)
        {
            return (seconds, [.. _latencies]);
        }
    }

    /// <summary>Deletes the last <paramref name="count"/> ports mapped.</summary>
    public async Task DeleteLastAsync(int count)
    {
        var requests = new List<(int, ushort)>(count);
        for (int i = 0; i < count; i++)
        {
            int index = --_nextPort;
            requests.Add((index % _clients.Length, (ushort)(20000 + index)));
        }

        await RunAsync(requests, 0);
        Mapped -= count;
    }

    /// <summary>Renews the last <paramref name="count"/> ports mapped (the same request again); returns the latencies in ms.</summary>
    public async Task<(double Seconds, List<double> Latencies)> RenewLastAsync(int count, uint lifetime)
    {
        lock (_lock)
        {
            _latencies.Clear();
        }

        var requests = new List<(int, ushort)>(count);
        for (int index = _nextPort - count; index < _nextPort; index++)
        {
            requests.Add((index % _clients.Length, (ushort)(20000 + index)));
        }

        var clock = Stopwatch.StartNew();
        await RunAsync(requests, lifetime);
        double seconds = clock.Elapsed.TotalSeconds;
        lock (_lock)
        {
            return (seconds, [.. _latencies]);
        }
    }

    private async Task RunAsync(List<(int Client, ushort Port)> requests, uint lifetime)
    {
        byte[] request = new byte[12];
        foreach (var (client, port) in requests)
        {
            while (!await _slots.WaitAsync(s_timeout))
            {
                ExpireLost();
            }

            if (_pcp)
            {
                request = PcpMessage.Map(_addresses[client], PcpMessage.Udp, port, port, lifetime, _nonce);
            }
            else
            {
                request[1] = 1; // map UDP
                BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), port);
                BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), port);
                BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(8), lifetime);
            }

            _pending[(client, port)] = Stopwatch.GetTimestamp();
            _clients[client].SendTo(request, _gateway);
        }

        // Drain the window.
        var wait = Stopwatch.StartNew();
        while (!_pending.IsEmpty && wait.Elapsed < s_timeout)
        {
            await Task.Delay(1);
        }

        ExpireLost();
    }

    private void ExpireLost()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var (key, sent) in _pending)
        {
            if (Stopwatch.GetElapsedTime(sent, now) > s_timeout && _pending.TryRemove(key, out _))
            {
                Lost++;
                _slots.Release();
            }
        }
    }

    private async Task ReceiveLoop(int client, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[1100];
        while (!cancellationToken.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _clients[client].ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // NAT-PMP: internal port at octet 8, result at 2-3. PCP MAP: internal port at 40, result at 3.
            if (n < (_pcp ? 60 : 16))
            {
                continue;
            }

            ushort port = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(_pcp ? 40 : 8));
            if (_pending.TryRemove((client, port), out long sent))
            {
                double ms = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                if ((_pcp ? buffer[3] : BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(2))) != 0)
                {
                    Interlocked.Increment(ref _errors);
                }

                lock (_lock)
                {
                    _latencies.Add(ms);
                }

                _slots.Release();
            }
        }
    }

    public static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{_clients.Length} clients, window {_window}");

    public void Dispose()
    {
        foreach (Socket s in _clients)
        {
            s.Dispose();
        }

        _slots.Dispose();
    }
}
