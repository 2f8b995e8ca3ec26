using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Hosting;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;

namespace PortMapper.Gateway.Admin;

/// <summary>
/// The admin endpoint (Kestrel) on loopback or a LAN address: the lease API, status, Prometheus metrics, a health
/// check and the web page. Every request must carry the bearer token from <c>STATE_DIR/admin.token</c>.
/// </summary>
public sealed partial class AdminService : KestrelService
{
    private readonly Devices.DeviceDirectory? _devices;
    private readonly Events.EventLog? _events;
    private readonly GatewayOptions _options;
    private readonly MappingEngine _engine;
    private readonly GatewayState _state;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DateTimeOffset _started;
    private readonly KernelBackend.IMediaFirewall _media;
    private readonly Devices.OpenNatController? _openNat;
    private readonly KernelBackend.ITrafficCounters? _traffic;
    private readonly Upstream.UpstreamService? _upstream;
    private readonly Rtsp.RtspHelperService? _rtsp;
    private string _token = string.Empty;

    public AdminService(
        GatewayOptions options,
        MappingEngine engine,
        GatewayState state,
        GatewayMetrics metrics,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        ILogger<AdminService> logger,
        KernelBackend.IMediaFirewall media,
        Rtsp.RtspHelperService? rtsp = null,
        Devices.DeviceDirectory? devices = null,
        Events.EventLog? events = null,
        Devices.OpenNatController? openNat = null,
        KernelBackend.ITrafficCounters? traffic = null,
        Upstream.UpstreamService? upstream = null)
        : base(loggerFactory)
    {
        _upstream = upstream;
        _traffic = traffic;
        _openNat = openNat;
        _events = events;
        _devices = devices;
        _media = media;
        _rtsp = rtsp;
        _options = options;
        _engine = engine;
        _state = state;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _started = time.GetUtcNow();
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _token = AdminToken.LoadOrCreate(_options.Settings.StateDirectory);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
        Log.AdminListening(_logger, _options.AdminEndpoint!.ToString(), Path.Combine(_options.Settings.StateDirectory, AdminToken.FileName));
    }

    protected override void ConfigureKestrel(KestrelServerOptions k)
    {
        k.Limits.MaxRequestBodySize = 4096;
        k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
        k.Limits.MaxConcurrentConnections = 64;
        k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(60);
        k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        k.Listen(_options.AdminEndpoint!, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.Use(next => connection => AdmitAsync(connection, next));
        });
    }

    /// <summary>
    /// Like the UPnP server, the admin endpoint talks only to this machine and the LAN: bound to an address the
    /// WAN can route to (a LAN's global IPv6 address), it would otherwise answer the Internet. Anything else is
    /// closed before a byte is read.
    /// </summary>
    private async Task AdmitAsync(Microsoft.AspNetCore.Connections.ConnectionContext connection, Microsoft.AspNetCore.Connections.ConnectionDelegate next)
    {
        System.Net.IPAddress? remote = (connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address;
        if (remote is { IsIPv4MappedToIPv6: true })
        {
            remote = remote.MapToIPv4();
        }

        if (remote is null || !MayConnect(remote))
        {
            Log.AdminRefused(_logger, "CONNECT", string.Empty, remote, "not loopback or a LAN host");
            _metrics.Drop("admin_not_lan");
            connection.Abort();
            return;
        }

        await next(connection).ConfigureAwait(false);
    }

    private bool MayConnect(System.Net.IPAddress remote) =>
        System.Net.IPAddress.IsLoopback(remote)
        || _options.LanInterfaces.Any(lan => (lan.IsOnLink(remote) && (!remote.IsIPv6LinkLocal || remote.ScopeId == lan.Index))
            || lan.Addresses.Any(a => a.Address.Equals(remote)));
}
