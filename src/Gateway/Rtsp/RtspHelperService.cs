using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;
using PortMapper.KernelBackend;
using PortMapper.KernelBackend.Netlink;
using PortMapper.Protocols.Ip;

namespace PortMapper.Gateway.Rtsp;

/// <summary>
/// The user-space RTSP helper, for kernels without an <c>rtsp</c> conntrack helper (mainline Linux has none). The
/// daemon's forward chain copies the packets of LAN clients' RTSP control connections to NFLOG (copies: the control
/// traffic itself is never held up); this service reads them, and the <see cref="RtspTracker"/> decides which UDP
/// ports to open. Media never passes through user space: it is translated and admitted by expiring kernel entries.
/// </summary>
public sealed class RtspHelperService : BackgroundService
{
    private static readonly TimeSpan s_sweepInterval = TimeSpan.FromSeconds(1);
    private static readonly byte[] s_fromClient = Encoding.ASCII.GetBytes(FirewallOptions.RtspFromClientPrefix);
    private static readonly byte[] s_fromServer = Encoding.ASCII.GetBytes(FirewallOptions.RtspFromServerPrefix);

    private readonly GatewayOptions _options;
    private readonly MappingEngine _engine;
    private readonly IMediaFirewall _media;
    private readonly GatewayState _state;
    private readonly GatewayMetrics _metrics;
    private readonly FlowReaper? _reaper;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RtspTracker _tracker;
    private readonly Lock _lock = new();
    private readonly List<MediaChange> _changes = [];
    private NflogSocket? _socket;
    private TaskCompletionSource _following = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RtspHelperService(
        GatewayOptions options,
        MappingEngine engine,
        IMediaFirewall media,
        GatewayState state,
        GatewayMetrics metrics,
        TimeProvider time,
        ILogger<RtspHelperService> logger,
        FlowReaper? reaper = null)
    {
        _options = options;
        _engine = engine;
        _media = media;
        _state = state;
        _metrics = metrics;
        _reaper = reaper;
        _time = time;
        _logger = logger;
        _tracker = new RtspTracker(new RtspTrackerOptions(MayOpen), logger);
    }

    /// <summary>Follows this many control connections now.</summary>
    public int Connections
    {
        get
        {
            lock (_lock)
            {
                return _tracker.Connections;
            }
        }
    }

    /// <summary>Binds the NFLOG group before the host reports itself started. Without it the daemon runs on, without the helper.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        FirewallOptions firewall = _options.Firewall;
        try
        {
            _socket = new NflogSocket(firewall.RtspLogGroup);
            Log.RtspHelper(_logger, $"the daemon's own (NFLOG group {firewall.RtspLogGroup})", string.Join(", ", firewall.RtspPorts ?? []));
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            Log.RtspUnavailable(_logger, e.Message);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_socket is null)
        {
            return;
        }

        try
        {
            await Task.WhenAll(ReceiveLoopAsync(_socket, stoppingToken), SweepLoopAsync(stoppingToken)).ConfigureAwait(false);
        }
        finally
        {
            _socket.Dispose();
        }
    }

    private async Task ReceiveLoopAsync(NflogSocket socket, CancellationToken stoppingToken)
    {
        var packets = new List<LoggedPacket>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await socket.ReceiveAsync(packets, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // ENOBUFS: the kernel dropped copies; the streams they belonged to notice the gap.
                _metrics.Drop("rtsp_log_overrun");
                Log.RtspCopiesLost(_logger, e.Message);
                continue;
            }

            lock (_lock)
            {
                DateTimeOffset now = _time.GetUtcNow();
                foreach (LoggedPacket packet in packets)
                {
                    OnPacket(packet, now);
                }

                Apply();
                if (_tracker.Connections > 0)
                {
                    _following.TrySetResult();
                }
            }
        }
    }

    private void OnPacket(LoggedPacket packet, DateTimeOffset now)
    {
        bool fromClient = packet.Prefix.Span.SequenceEqual(s_fromClient);
        bool fromServer = !fromClient && packet.Prefix.Span.SequenceEqual(s_fromServer);
        if (!fromClient && !fromServer)
        {
            return; // another rule's copy
        }

        IpPacketError error = IpPacketReader.TryReadTcp(packet.Packet.Span, out TcpSegment segment);
        if (error != IpPacketError.None)
        {
            Log.RtspPacketIgnored(_logger, error);
            return;
        }

        _tracker.OnSegment(segment, fromClient, now, _changes);
    }

    private async Task SweepLoopAsync(CancellationToken stoppingToken)
    {
        // A delay per round rather than a PeriodicTimer, whose timer would go on firing while the loop sleeps.
        try
        {
            while (true)
            {
                await Task.Delay(s_sweepInterval, _time, stoppingToken).ConfigureAwait(false);
                Task following;
                lock (_lock)
                {
                    _tracker.Sweep(_time.GetUtcNow(), _changes);
                    Apply();
                    if (_tracker.Connections > 0)
                    {
                        continue;
                    }

                    // Nothing followed, nothing to time out: sleep until a control connection is tracked.
                    if (_following.Task.IsCompleted)
                    {
                        _following = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    following = _following.Task;
                }

                await following.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Programs the kernel with what the tracker decided, then ends the flows that went stale or lost their port.</summary>
    private void Apply()
    {
        if (_changes.Count == 0)
        {
            return;
        }

        long started = Stopwatch.GetTimestamp();
        try
        {
            foreach (var group in _changes.Where(c => c.Kind != MediaChangeKind.Close).GroupBy(c => c.Timeout))
            {
                _media.OpenMedia([.. group.Select(c => c.Opening)], group.Key);
            }

            MediaOpening[] closed = [.. _changes.Where(c => c.Kind == MediaChangeKind.Close).Select(c => c.Opening)];
            if (closed.Length > 0)
            {
                _media.CloseMedia(closed);
                Log.RtspClosed(_logger, closed.Length);
            }

            _metrics.KernelOperation("media", Stopwatch.GetElapsedTime(started));
        }
        catch (FirewallException e)
        {
            Log.RtspKernelRefused(_logger, e.Message);
        }

        // A server that started sending before its port was open has a conntrack flow without the translation,
        // which would outlive the opening; and a closed port's flows must end with it. Even ports opened at the
        // SETUP request need this: when the daemon falls behind, the server can be quicker (the benchmark lost
        // one session in ten without it).
        IPAddress? external = _state.Current.ExternalAddress;
        _reaper?.Submit([.. _changes
            .Where(c => c.Kind != MediaChangeKind.Refresh && (c.Opening.IsIPv6 || external is not null))
            .Select(c => new FlowEndpoint(c.Opening.IsIPv6 ? c.Opening.Client : external!, TransportProtocol.Udp, c.Opening.Port, c.Opening.Server))]);
        _changes.Clear();
    }

    /// <summary>Asked of the admission stage, with the same rules as a mapping's external port.</summary>
    private bool MayOpen(IPAddress client, ushort port) => _engine.Admission.MayOpenMedia(client, port);

    public override void Dispose()
    {
        _socket?.Dispose();
        base.Dispose();
    }
}
