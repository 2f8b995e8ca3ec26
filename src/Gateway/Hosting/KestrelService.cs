using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PortMapper.Gateway.Hosting;

/// <summary>
/// An HTTP server of the daemon (UPnP, admin): Kestrel alone (no routing, no configuration sources, AOT-safe),
/// logging through the daemon's logger, one request delegate, and the limits and endpoints the subclass sets.
/// </summary>
public abstract class KestrelService : IHostedService, IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;
    private WebApplication? _app;

    protected KestrelService(ILoggerFactory loggerFactory)
    {
        _loggerFactory = loggerFactory;
    }

    public virtual async Task StartAsync(CancellationToken cancellationToken)
    {
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "portmapper" });
        builder.Services.AddSingleton(_loggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            ConfigureKestrel(kestrel);
        });

        WebApplication app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
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

        GC.SuppressFinalize(this);
    }

    /// <summary>Limits and endpoints.</summary>
    protected abstract void ConfigureKestrel(KestrelServerOptions kestrel);

    protected abstract Task HandleAsync(HttpContext context);
}
