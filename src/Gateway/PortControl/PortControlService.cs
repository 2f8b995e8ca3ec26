using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.NatPmp;
using PortMapper.Protocols.Pcp;

namespace PortMapper.Gateway.PortControl;

/// <summary>
/// UDP 5351 on every LAN interface, for both protocols that share it (RFC 6887 Appendix A): version 0 is
/// NAT-PMP, version 2 is PCP, anything else gets PCP's UNSUPP_VERSION. Only hosts on the LAN the datagram
/// arrived on are answered; everything else, and everything from the WAN, gets silence.
/// </summary>
public sealed partial class PortControlService : BackgroundService
{
    private readonly GatewayOptions _options;
    private readonly MappingEngine _engine;
    private readonly GatewayState _state;
    private readonly RateLimiter _rateLimiter;
    private readonly DeviceResolver _devices;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly List<LanSocket> _sockets = [];

    public PortControlService(
        GatewayOptions options,
        MappingEngine engine,
        GatewayState state,
        RateLimiter rateLimiter,
        TimeProvider time,
        ILogger<PortControlService> logger,
        GatewayMetrics metrics,
        DeviceResolver? devices = null)
    {
        _devices = devices ?? new DeviceResolver(null, time);
        _metrics = metrics;
        _options = options;
        _engine = engine;
        _state = state;
        _rateLimiter = rateLimiter;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Binds every socket before the host reports itself started (READY=1): since .NET 10 the whole of
    /// <see cref="ExecuteAsync"/> runs in the background, so binding there would race the readiness signal.
    /// </summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var lan in _options.LanInterfaces)
            {
                foreach (var address in lan.IPv4)
                {
                    _sockets.Add(new LanSocket(lan, address.Address, NatPmpCodec.ServerPort));
                }

                if (_options.Settings.PcpEnabled && lan.HasIPv6)
                {
                    _sockets.Add(new LanSocket(lan, IPAddress.IPv6Any, NatPmpCodec.ServerPort));
                }
            }
        }
        catch
        {
            DisposeSockets();
            throw;
        }

        foreach (LanSocket socket in _sockets)
        {
            Log.PortControlListening(_logger, socket.Lan.Name, socket.Address, NatPmpCodec.ServerPort, Protocols);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var loops = _sockets.Select(s => ReceiveLoopAsync(s, stoppingToken)).ToList();
            loops.Add(AnnounceLoopAsync(_sockets, stoppingToken));
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        finally
        {
            DisposeSockets();
        }
    }

    private void DisposeSockets()
    {
        foreach (LanSocket socket in _sockets)
        {
            socket.Dispose();
        }

        _sockets.Clear();
    }

    private string Protocols => (_options.Settings.NatPmpEnabled, _options.Settings.PcpEnabled) switch
    {
        (true, true) => "NAT-PMP, PCP",
        (true, false) => "NAT-PMP",
        _ => "PCP",
    };

    private async Task ReceiveLoopAsync(LanSocket lan, CancellationToken stoppingToken)
    {
        byte[] buffer = GC.AllocateArray<byte>(2048, pinned: true);
        EndPoint any = new IPEndPoint(lan.IsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
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
                Log.PortControlSocketError(_logger, e, lan.Lan.Name);
                continue;
            }

            try
            {
                OnDatagram(lan, buffer.AsSpan(0, received.ReceivedBytes), (IPEndPoint)received.RemoteEndPoint);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or ArgumentException)
            {
                Log.PortControlSocketError(_logger, e, lan.Lan.Name);
            }
        }
    }

    private void OnDatagram(LanSocket lan, ReadOnlySpan<byte> datagram, IPEndPoint source)
    {
        if (!lan.Lan.IsOnLink(source.Address))
        {
            Log.PortControlOffLink(_logger, source, lan.Lan.Name);
            _metrics.Drop("port_control_off_link");
            return;
        }

        DeviceId device = _devices.Resolve(source.Address, lan.Lan.Index);
        if (_devices.NeedsSolicit(device, lan.Lan.Index))
        {
            // An address the kernel has not resolved yet: find its device first (a round trip), then go on.
            byte[] copy = datagram.ToArray();
            _ = ResolveThenHandleAsync(lan, copy, source);
            return;
        }

        Handle(lan, datagram, source, device);
    }

    private async Task ResolveThenHandleAsync(LanSocket lan, byte[] datagram, IPEndPoint source)
    {
        try
        {
            DeviceId device = await _devices.ResolveAsync(source.Address, lan.Lan.Index, CancellationToken.None).ConfigureAwait(false);
            Handle(lan, datagram, source, device);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or ArgumentException)
        {
            Log.PortControlSocketError(_logger, e, lan.Lan.Name);
        }
    }

    private void Handle(LanSocket lan, ReadOnlySpan<byte> datagram, IPEndPoint source, DeviceId device)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (!_rateLimiter.TryAcquire(device, now))
        {
            Log.PortControlRateLimited(_logger, source);
            _metrics.Drop("port_control_rate_limited");
            return;
        }

        bool natPmp = datagram.Length > 0 && datagram[0] == 0 && !lan.IsIPv6;
        if (_options.Settings.NatPmpEnabled && (natPmp || !_options.Settings.PcpEnabled))
        {
            OnNatPmp(lan, datagram, source, device, now);
        }
        else if (_options.Settings.PcpEnabled)
        {
            OnPcp(lan, datagram, source, device, now);
        }
    }

    private void OnNatPmp(LanSocket lan, ReadOnlySpan<byte> datagram, IPEndPoint source, DeviceId device, DateTimeOffset now)
    {
        Span<byte> reply = stackalloc byte[NatPmpHandler.MaxReplyLength];
        NatPmpStep step = NatPmpHandler.Handle(datagram, source.Address, _state.NatPmpContext(now), reply);
        switch (step.Action)
        {
            case NatPmpAction.Drop:
                Log.NatPmpDropped(_logger, source, step.DropReason);
                _metrics.Drop("natpmp_malformed");
                break;
            case NatPmpAction.Reply:
                CountNatPmp(reply);
                Send(lan, reply[..step.ReplyLength], source);
                break;
            case NatPmpAction.Execute:
                NatPmpRequest request = step.Request;
                Submit(step.Command, source, device, outcome =>
                {
                    Span<byte> answer = stackalloc byte[NatPmpHandler.MaxReplyLength];
                    int length = NatPmpHandler.Complete(request, outcome, _state.NatPmpContext(_time.GetUtcNow()), answer);
                    CountNatPmp(answer);
                    Send(lan, answer[..length], source);
                });
                break;
        }
    }

    private void OnPcp(LanSocket lan, ReadOnlySpan<byte> datagram, IPEndPoint source, DeviceId device, DateTimeOffset now)
    {
        Span<byte> reply = stackalloc byte[PcpHandler.MaxReplyLength];
        PcpStep step = PcpHandler.Handle(datagram, source.Address, PcpContext(lan, now), reply);
        switch (step.Action)
        {
            case PcpAction.Drop:
                Log.PcpDropped(_logger, source);
                _metrics.Drop("pcp_malformed");
                break;
            case PcpAction.Reply:
                if (reply[3] != (byte)PcpResultCode.Success)
                {
                    Log.PcpRefused(_logger, source, (PcpResultCode)reply[3]);
                }

                CountPcp(reply);
                Send(lan, reply[..step.ReplyLength], source);
                break;
            case PcpAction.Execute:
                PcpRequest request = step.Request!;
                Submit(step.Command, source, device, outcome =>
                {
                    Span<byte> answer = stackalloc byte[PcpHandler.MaxReplyLength];
                    int length = PcpHandler.Complete(request, outcome, PcpContext(lan, _time.GetUtcNow()), answer);
                    CountPcp(answer);
                    Send(lan, answer[..length], source);
                });
                break;
        }
    }

    private PcpContext PcpContext(LanSocket lan, DateTimeOffset now)
    {
        NatPmpContext shared = _state.NatPmpContext(now);
        return new PcpContext(shared.ExternalAddress, shared.EpochSeconds, _engine.Options.Settings.PcpAllowThirdParty, _engine.Options.Settings.PcpMaxFilters, lan.Lan.IsLanHost);
    }

    private void Submit(in MappingCommand command, IPEndPoint source, DeviceId device, Action<MappingOutcome> reply)
    {
        if (!_engine.Submit(command, device, reply))
        {
            Log.QueueFull(_logger, source.Address);
            _metrics.Drop("queue_full");
        }
    }

    /// <summary>NAT-PMP result code: octets 2-3 of every response (RFC 6886 §3.5).</summary>
    private void CountNatPmp(ReadOnlySpan<byte> reply) =>
        _metrics.Request("natpmp", ((NatPmpResultCode)System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(reply[2..])).ToString());

    /// <summary>PCP result code: octet 3 of every response (RFC 6887 §7.2).</summary>
    private void CountPcp(ReadOnlySpan<byte> reply) => _metrics.Request("pcp", ((PcpResultCode)reply[3]).ToString());

    /// <summary>
    /// Sends an answer without ever waiting: the sockets are non-blocking. Answers to sources that never resolve
    /// (spoofed addresses) wait in the kernel's neighbour queues and use up the socket's send buffer; a blocking
    /// send would then stall the engine's loop, which sends the answers. Such an answer is dropped instead.
    /// </summary>
    private void Send(LanSocket lan, ReadOnlySpan<byte> datagram, IPEndPoint destination)
    {
        try
        {
            lan.Socket.SendTo(datagram, SocketFlags.None, destination);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable)
        {
            Log.PortControlReplyDropped(_logger, destination, e.SocketErrorCode);
            _metrics.Drop("port_control_send_buffer_full");
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Log.PortControlSocketError(_logger, e, lan.Lan.Name);
        }
    }
}
