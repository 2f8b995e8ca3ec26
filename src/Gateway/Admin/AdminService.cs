using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;

namespace PortMapper.Gateway.Admin;

/// <summary>
/// The admin endpoint (Kestrel) on loopback or a LAN address: the lease API, status, Prometheus metrics, a health
/// check and the web page. Every request must carry the bearer token from <c>STATE_DIR/admin.token</c>.
/// </summary>
public sealed partial class AdminService : IHostedService, IAsyncDisposable
{
    private readonly GatewayOptions _options;
    private readonly MappingEngine _engine;
    private readonly GatewayState _state;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly DateTimeOffset _started;
    private string _token = string.Empty;
    private WebApplication? _app;

    public AdminService(
        GatewayOptions options,
        MappingEngine engine,
        GatewayState state,
        GatewayMetrics metrics,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        ILogger<AdminService> logger)
    {
        _options = options;
        _engine = engine;
        _state = state;
        _metrics = metrics;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = logger;
        _started = time.GetUtcNow();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        IPEndPoint endpoint = _options.AdminEndpoint!;
        _token = AdminToken.LoadOrCreate(_options.Settings.StateDirectory);
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "portmapper-admin" });
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 4096;
            k.Limits.MaxRequestHeadersTotalSize = 16 * 1024;
            k.Limits.MaxConcurrentConnections = 64;
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(60);
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            k.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http1);
        });

        WebApplication app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        Log.AdminListening(_logger, endpoint.ToString(), Path.Combine(_options.Settings.StateDirectory, AdminToken.FileName));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
