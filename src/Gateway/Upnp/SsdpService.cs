using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// SSDP on each LAN interface: answers M-SEARCH after a random delay within MX, from the address of the
/// interface the search came in on, and announces the devices (ssdp:alive at start and periodically, byebye at
/// stop). Sockets are bound to their interface, so nothing from the WAN is ever heard or answered; answers per
/// source are rate-limited.
/// </summary>
public sealed partial class SsdpService : BackgroundService
{
    private const int MaxPending = 4096;

    private readonly GatewayOptions _options;
    private readonly UpnpDevices _devices;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly RateLimiter _searches = new(perSecond: 2, burst: 6);
    private readonly Lock _lock = new();
    private readonly PriorityQueue<ScheduledAnswer, DateTimeOffset> _pending = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly List<SsdpSocket> _sockets = [];

    public SsdpService(GatewayOptions options, UpnpDevices devices, TimeProvider time, ILogger<SsdpService> logger, GatewayMetrics metrics)
    {
        _metrics = metrics;
        _options = options;
        _devices = devices;
        _time = time;
        _logger = logger;
    }

    /// <summary>Binds every socket before the host reports itself started (READY=1), not in the background.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (LanInterface lan in _options.LanInterfaces)
            {
                // IPv4, and IPv6 (ff02::c) where the LAN has a global address to offer the descriptions at.
                foreach (IPAddress address in new[] { lan.IPv4.FirstOrDefault().Address, lan.GlobalIPv6.FirstOrDefault().Address }.OfType<IPAddress>())
                {
                    _sockets.Add(new SsdpSocket(lan, address));
                    Log.SsdpListening(_logger, lan.Name, address, _options.Settings.UpnpNotifyIntervalSeconds);
                }
            }
        }
        catch
        {
            foreach (SsdpSocket socket in _sockets)
            {
                socket.Dispose();
            }

            _sockets.Clear();
            throw;
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var loops = _sockets.Select(s => ReceiveLoopAsync(s, stoppingToken)).ToList();
            loops.Add(AnswerLoopAsync(stoppingToken));
            loops.Add(AnnounceLoopAsync(_sockets, stoppingToken));
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        finally
        {
            foreach (SsdpSocket socket in _sockets)
            {
                SendAll(socket, SsdpAdvertisements().Select(t => SsdpCodec.ByeBye(t, _devices.Identity, socket.IsIPv6)));
                socket.Dispose();
            }

            _sockets.Clear();
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    private IEnumerable<SsdpTarget> SsdpAdvertisements() =>
        SsdpCodec.Advertisements(_devices.Igd1).Concat(SsdpCodec.Advertisements(_devices.Igd2));

    private async Task ReceiveLoopAsync(SsdpSocket ssdp, CancellationToken stoppingToken)
    {
        byte[] buffer = new byte[SsdpCodec.MaxDatagram + 1];
        EndPoint any = new IPEndPoint(ssdp.IsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        while (!stoppingToken.IsCancellationRequested)
        {
            SocketReceiveMessageFromResult received;
            try
            {
                received = await ssdp.Socket.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.SsdpSocketError(_logger, e, ssdp.Lan.Name);
                continue;
            }

            var source = (IPEndPoint)received.RemoteEndPoint;
            bool multicast = received.PacketInformation.Address.Equals(ssdp.Group.Address);
            OnDatagram(ssdp, buffer.AsSpan(0, received.ReceivedBytes), source, multicast);
        }
    }

    private void OnDatagram(SsdpSocket ssdp, ReadOnlySpan<byte> datagram, IPEndPoint source, bool multicast)
    {
        if (!ssdp.Lan.IsLanHost(source.Address))
        {
            Log.SsdpIgnored(_logger, source, ssdp.Lan.Name, "not a host on this LAN");
            _metrics.Drop("ssdp_not_lan");
            return;
        }

        SsdpDecodeError error = SsdpCodec.TryDecodeSearch(datagram, multicast, out SsdpSearch? search);
        if (error != SsdpDecodeError.None)
        {
            if (error != SsdpDecodeError.NotSearch)
            {
                Log.SsdpIgnored(_logger, source, ssdp.Lan.Name, error.ToString());
                _metrics.Drop("ssdp_malformed");
            }

            return;
        }

        List<SsdpTarget> targets = SsdpCodec.Match(search!.SearchTarget, _devices.Igd1, _devices.Igd2);
        if (targets.Count == 0)
        {
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        if (!_searches.TryAcquire(source.Address, now))
        {
            Log.SsdpIgnored(_logger, source, ssdp.Lan.Name, "rate limited");
            _metrics.Drop("ssdp_rate_limited");
            return;
        }

        // UDA 1.1 §1.3.3: answer at a random moment within MX seconds, so that devices do not all answer at once.
        TimeSpan delay = search.Mx is { } mx ? TimeSpan.FromMilliseconds(Random.Shared.Next(0, mx * 1000)) : TimeSpan.Zero;
        IPAddress local = ssdp.IsIPv6 ? ssdp.Address : ssdp.Lan.IPv4.FirstOrDefault(a => a.Subnet.Contains(source.Address)).Address ?? ssdp.Address;
        lock (_lock)
        {
            foreach (SsdpTarget target in targets)
            {
                if (_pending.Count >= MaxPending)
                {
                    break;
                }

                _pending.Enqueue(new ScheduledAnswer(ssdp, source, target, Location(local, target.Root)), now + delay);
            }
        }

        _wake.Release();
    }

    private string Location(IPAddress local, RootDevice root) =>
        $"http://{new IPEndPoint(local, _options.Settings.UpnpHttpPort)}{root.DescriptionPath}";

    private async Task AnswerLoopAsync(CancellationToken stoppingToken)
    {
        var due = new List<ScheduledAnswer>();
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait = Timeout.InfiniteTimeSpan;
            DateTimeOffset now = _time.GetUtcNow();
            lock (_lock)
            {
                while (_pending.TryPeek(out _, out DateTimeOffset at) && at <= now)
                {
                    due.Add(_pending.Dequeue());
                }

                if (_pending.TryPeek(out _, out DateTimeOffset next))
                {
                    wait = next - now;
                }
            }

            foreach (ScheduledAnswer answer in due)
            {
                Send(answer.Socket, SsdpCodec.Response(answer.Target, answer.Location, _devices.Identity, now), answer.Destination);
            }

            due.Clear();
            try
            {
                await _wake.WaitAsync(wait, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>ssdp:alive for every device and service, twice at start (UDP is lossy), then every interval.</summary>
    private async Task AnnounceLoopAsync(List<SsdpSocket> sockets, CancellationToken stoppingToken)
    {
        try
        {
            for (int round = 0; !stoppingToken.IsCancellationRequested; round++)
            {
                foreach (SsdpSocket socket in sockets)
                {
                    SendAll(socket, SsdpAdvertisements().Select(t => SsdpCodec.Alive(t, Location(socket.Address, t.Root), _devices.Identity, socket.IsIPv6)));
                }

                TimeSpan wait = round == 0 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(_options.Settings.UpnpNotifyIntervalSeconds);
                await Task.Delay(wait, _time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Multicasts each message to the socket's SSDP group.</summary>
    private void SendAll(SsdpSocket socket, IEnumerable<string> messages)
    {
        foreach (string message in messages)
        {
            Send(socket, message, socket.Group);
        }
    }

    private void Send(SsdpSocket socket, string message, IPEndPoint destination)
    {
        try
        {
            socket.Socket.SendTo(Encoding.ASCII.GetBytes(message), SocketFlags.None, destination);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Log.SsdpSocketError(_logger, e, socket.Lan.Name);
        }
    }

    private sealed record ScheduledAnswer(SsdpSocket Socket, IPEndPoint Destination, SsdpTarget Target, string Location);
}
