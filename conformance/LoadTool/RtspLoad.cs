using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PortMapper.Conformance.LoadTool;

/// <summary>
/// RTSP sessions through the gateway's helper, from one LAN host: connect, SETUP with a client port pair, and time
/// from the SETUP answer to the first media datagram on the client port (the helper had to see the answer, open
/// the port in the kernel, and end the flow the server's first packets had made without it). Held sessions stay
/// open with their media ports; measured ones are torn down again.
/// </summary>
internal sealed class RtspLoad : IDisposable
{
    private readonly IPEndPoint _server;
    private readonly IReadOnlyList<IPAddress> _clients;
    private readonly List<(Socket Control, Socket Media)> _held = [];
    private int _nextPort = 20000;
    private int _nextClient;

    /// <param name="clients">The LAN addresses sessions come from, in turn (the helper follows at most 256 control connections per client).</param>
    public RtspLoad(IPEndPoint server, IReadOnlyList<IPAddress> clients)
    {
        _server = server;
        _clients = clients;
    }

    public int Held => _held.Count;

    public int Errors { get; private set; }

    /// <summary>Sessions whose media never arrived within the timeout.</summary>
    public int Lost { get; private set; }

    /// <summary>Opens sessions and keeps them (control connection and media socket).</summary>
    public async Task HoldAsync(int count, int window)
    {
        var sessions = await RunAsync(count, window, keep: true).ConfigureAwait(false);
        _held.AddRange(sessions.Kept);
    }

    /// <summary>Sessions set up, timed to their first media packet, and torn down; returns the elapsed seconds and the latencies in ms.</summary>
    public async Task<(double Seconds, List<double> Latencies)> MeasureAsync(int count, int window)
    {
        var clock = Stopwatch.StartNew();
        var sessions = await RunAsync(count, window, keep: false).ConfigureAwait(false);
        return (clock.Elapsed.TotalSeconds, sessions.Latencies);
    }

    private async Task<(List<double> Latencies, List<(Socket, Socket)> Kept)> RunAsync(int count, int window, bool keep)
    {
        var latencies = new List<double>(count);
        var kept = new List<(Socket, Socket)>();
        var gate = new SemaphoreSlim(window);
        var tasks = new List<Task>(count);
        for (int i = 0; i < count; i++)
        {
            IPAddress client = _clients[_nextClient++ % _clients.Count];
            // IPv4 media ports are ports of the one external address: every session needs its own.
            int port = _nextPort;
            _nextPort = _nextPort + 2 > 64000 ? 20000 : _nextPort + 2;

            await gate.WaitAsync().ConfigureAwait(false);
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    var (latency, control, media) = await SessionAsync(client, port, keep).ConfigureAwait(false);
                    lock (latencies)
                    {
                        if (latency is { } ms)
                        {
                            latencies.Add(ms);
                        }

                        if (control is not null)
                        {
                            kept.Add((control, media!));
                        }
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        return (latencies, kept);
    }

    private async Task<(double? Latency, Socket? Control, Socket? Media)> SessionAsync(IPAddress client, int port, bool keep)
    {
        var media = new Socket(_server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        var control = new Socket(_server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        bool handedOver = false;
        try
        {
            media.Bind(new IPEndPoint(client, port));
            control.Bind(new IPEndPoint(client, 0));
            await control.ConnectAsync(_server).ConfigureAwait(false);
            string setup = string.Create(CultureInfo.InvariantCulture,
                $"SETUP rtsp://{_server}/bench/stream=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP;unicast;client_port={port}-{port + 1}\r\n\r\n");
            await control.SendAsync(Encoding.ASCII.GetBytes(setup), SocketFlags.None).ConfigureAwait(false);
            byte[] buffer = new byte[2048];
            using var answerTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            int n = await control.ReceiveAsync(buffer, SocketFlags.None, answerTimeout.Token).ConfigureAwait(false);
            long answered = Stopwatch.GetTimestamp();
            if (!Encoding.ASCII.GetString(buffer, 0, n).StartsWith("RTSP/1.0 200", StringComparison.Ordinal))
            {
                Errors++;
                return (null, null, null);
            }

            using var mediaTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                await media.ReceiveAsync(buffer, SocketFlags.None, mediaTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Lost++;
                return (null, null, null);
            }

            double latency = Stopwatch.GetElapsedTime(answered).TotalMilliseconds;
            if (keep)
            {
                handedOver = true;
                return (latency, control, media);
            }

            await control.SendAsync(Encoding.ASCII.GetBytes("TEARDOWN rtsp://x/bench RTSP/1.0\r\nCSeq: 2\r\nSession: 1\r\n\r\n"), SocketFlags.None).ConfigureAwait(false);
            using var teardownTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await control.ReceiveAsync(buffer, SocketFlags.None, teardownTimeout.Token).ConfigureAwait(false);
            return (latency, null, null);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            Errors++;
            return (null, null, null);
        }
        finally
        {
            if (!handedOver)
            {
                control.Dispose();
                media.Dispose();
            }
        }
    }

    public void Dispose()
    {
        foreach (var (control, media) in _held)
        {
            control.Dispose();
            media.Dispose();
        }
    }
}
