using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Hosting;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// The UPnP HTTP server (Kestrel): descriptions, SOAP control and GENA eventing, bound to LAN addresses only.
/// Each connection must come from a host on the LAN it arrived on, and a source may hold only so many at once;
/// request size, header size and idle time are capped.
/// </summary>
public sealed partial class UpnpHttpService : KestrelService
{
    /// <summary>The largest control request body accepted (bytes).</summary>
    public const int MaxBodyBytes = 16 * 1024;

    private readonly GatewayOptions _options;
    private readonly UpnpControl _control;
    private readonly UpnpDevices _devices;
    private readonly GenaService _gena;
    private readonly ILogger _logger;
    private readonly ConnectionLimiter _connections;
    private readonly DeviceResolver _deviceResolver;
    private readonly GatewayMetrics _metrics;
    private List<(LanInterface Lan, InterfaceAddress Address)> _endpoints = [];

    public UpnpHttpService(
        GatewayOptions options,
        UpnpControl control,
        UpnpDevices devices,
        GenaService gena,
        ILoggerFactory loggerFactory,
        ILogger<UpnpHttpService> logger,
        GatewayMetrics metrics,
        DeviceResolver? deviceResolver = null)
        : base(loggerFactory)
    {
        _deviceResolver = deviceResolver ?? new DeviceResolver(null, TimeProvider.System);
        _metrics = metrics;
        _options = options;
        _control = control;
        _devices = devices;
        _gena = gena;
        _logger = logger;
        _connections = new ConnectionLimiter(options.Settings.UpnpMaxConnectionsPerHost);
    }

    private int Port => _options.Settings.UpnpHttpPort;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _endpoints = [.. _options.LanInterfaces.SelectMany(lan => ListenAddresses(lan).Select(a => (lan, a)))];
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (lan, address) in _endpoints)
        {
            Log.UpnpListening(_logger, lan.Name, new IPEndPoint(address.Address, Port).ToString());
        }
    }

    protected override void ConfigureKestrel(KestrelServerOptions k)
    {
        k.Limits.MaxRequestBodySize = MaxBodyBytes;
        k.Limits.MaxRequestHeadersTotalSize = 8 * 1024;
        k.Limits.MaxRequestHeaderCount = 32;
        k.Limits.MaxRequestLineSize = 2 * 1024;
        k.Limits.MaxConcurrentConnections = 1024;
        k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(30);
        k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
        k.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 256, gracePeriod: TimeSpan.FromSeconds(5));
        foreach (var (lan, address) in _endpoints)
        {
            k.Listen(address.Address, Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                listen.Use(next => connection => AdmitAsync(connection, next, lan));
            });
        }
    }

    /// <summary>
    /// The LAN's IPv4 addresses and global IPv6 addresses. An IPv6 address still in duplicate address detection
    /// cannot be bound yet; it is left out (with a warning) rather than failing the start, as at a router's boot.
    /// </summary>
    private IEnumerable<InterfaceAddress> ListenAddresses(LanInterface lan)
    {
        foreach (InterfaceAddress address in lan.Addresses.Where(a => !a.Address.IsIPv6LinkLocal))
        {
            if (address.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !CanBind(address.Address))
            {
                Log.UpnpAddressSkipped(_logger, address.Address, lan.Name);
                continue;
            }

            yield return address;
        }
    }

    private static bool CanBind(IPAddress address)
    {
        using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(address, 0));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>A connection from anywhere but a host on this LAN, or one too many from a host, is closed unanswered.</summary>
    private async Task AdmitAsync(ConnectionContext connection, ConnectionDelegate next, LanInterface lan)
    {
        IPAddress? remote = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (remote is { IsIPv4MappedToIPv6: true })
        {
            remote = remote.MapToIPv4();
        }

        if (remote is null || !lan.IsLanHost(remote))
        {
            Log.UpnpConnectionRefused(_logger, connection.RemoteEndPoint?.ToString(), connection.LocalEndPoint?.ToString(), "not a host on " + lan.Name);
            _metrics.Drop("upnp_not_lan");
            connection.Abort();
            return;
        }

        // Counted per device: one host with many IPv6 addresses holds no more connections than one with one.
        DeviceId device = await _deviceResolver.ResolveAsync(remote, lan.Index, CancellationToken.None).ConfigureAwait(false);
        if (!_connections.TryEnter(device))
        {
            Log.UpnpConnectionRefused(_logger, connection.RemoteEndPoint?.ToString(), connection.LocalEndPoint?.ToString(), "too many connections from this host");
            _metrics.Drop("upnp_connection_limit");
            connection.Abort();
            return;
        }

        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _connections.Exit(device);
        }
    }

    private LanInterface? LanOf(IPAddress? local) =>
        local is null ? null : _options.LanInterfaces.FirstOrDefault(l => l.Addresses.Any(a => a.Address.GetAddressBytes().AsSpan().SequenceEqual(local.GetAddressBytes())));
}
