using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.NatPmp;

namespace PortMapper.Gateway.NatPmp;

/// <summary>
/// NAT-PMP on UDP 5351 of every LAN address. Only hosts on the LAN the datagram arrived on are answered;
/// everything else, and everything from the WAN, gets silence.
/// </summary>
public sealed partial class NatPmpService : BackgroundService
{
    private readonly GatewayOptions _options;
    private readonly MappingEngine _engine;
    private readonly GatewayState _state;
    private readonly RateLimiter _rateLimiter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public NatPmpService(
        GatewayOptions options,
        MappingEngine engine,
        GatewayState state,
        RateLimiter rateLimiter,
        TimeProvider time,
        ILogger<NatPmpService> logger)
    {
        _options = options;
        _engine = engine;
        _state = state;
        _rateLimiter = rateLimiter;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sockets = new List<LanSocket>();
        try
        {
            foreach (var lan in _options.LanInterfaces)
            {
                foreach (var address in lan.IPv4)
                {
                    sockets.Add(new LanSocket(lan, address.Address, NatPmpCodec.ServerPort));
                    Log.NatPmpListening(_logger, lan.Name, address.Address, NatPmpCodec.ServerPort);
                }
            }

            var loops = sockets.Select(s => ReceiveLoopAsync(s, stoppingToken)).ToList();
            loops.Add(AnnounceLoopAsync(sockets, stoppingToken));
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        finally
        {
            foreach (LanSocket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    private async Task ReceiveLoopAsync(LanSocket lan, CancellationToken stoppingToken)
    {
        byte[] buffer = GC.AllocateArray<byte>(2048, pinned: true);
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!stoppingToken.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await lan.Socket.ReceiveFromAsync(buffer, SocketFlags.None, any, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // ICMP errors from earlier sends surface here on Linux; the socket stays usable.
                Log.NatPmpSocketError(_logger, e, lan.Lan.Name);
                continue;
            }

            try
            {
                OnDatagram(lan, buffer.AsSpan(0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or ArgumentException)
            {
                Log.NatPmpSocketError(_logger, e, lan.Lan.Name);
            }
        }
    }

    private void OnDatagram(LanSocket lan, ReadOnlySpan<byte> datagram, IPEndPoint source)
    {
        if (!lan.Lan.IsOnLink(source.Address))
        {
            Log.NatPmpOffLink(_logger, source, lan.Lan.Name);
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        if (!_rateLimiter.TryAcquire(source.Address, now))
        {
            Log.NatPmpRateLimited(_logger, source);
            return;
        }

        Span<byte> reply = stackalloc byte[NatPmpHandler.MaxReplyLength];
        NatPmpStep step = NatPmpHandler.Handle(datagram, source.Address, _state.NatPmpContext(now), reply);
        switch (step.Action)
        {
            case NatPmpAction.Drop:
                Log.NatPmpDropped(_logger, source, step.DropReason);
                break;
            case NatPmpAction.Reply:
                lan.Socket.SendTo(reply[..step.ReplyLength], SocketFlags.None, source);
                break;
            case NatPmpAction.Execute:
                NatPmpRequest request = step.Request;
                if (!_engine.Submit(step.Command, outcome => SendOutcome(lan, source, request, outcome)))
                {
                    Log.QueueFull(_logger, source.Address);
                }

                break;
        }
    }

    private void SendOutcome(LanSocket lan, IPEndPoint destination, NatPmpRequest request, MappingOutcome outcome)
    {
        Span<byte> reply = stackalloc byte[NatPmpHandler.MaxReplyLength];
        int length = NatPmpHandler.Complete(request, outcome, _state.NatPmpContext(_time.GetUtcNow()), reply);
        try
        {
            lan.Socket.SendTo(reply[..length], SocketFlags.None, destination);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Log.NatPmpSocketError(_logger, e, lan.Lan.Name);
        }
    }
}
