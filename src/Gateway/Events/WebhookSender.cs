using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Logging;

namespace PortMapper.Gateway.Events;

/// <summary>
/// events.webhook: POSTs each event as JSON (ntfy, Home Assistant, Gotify take it as is). A bounded queue between
/// the gateway and the webhook: when it is full the oldest waiting event is dropped (and counted), so a slow or
/// dead webhook never slows a request. Each event is tried three times, 1, 2 and 4 s apart.
/// </summary>
public sealed class WebhookSender : BackgroundService
{
    public const int QueueLength = 1000;
    private static readonly TimeSpan[] s_backoff = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];

    private readonly Uri _url;
    private readonly ILogger _logger;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Channel<GatewayEvent> _queue = Channel.CreateBounded<GatewayEvent>(new BoundedChannelOptions(QueueLength)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    private long _dropped;
    private long _failed;
    private long _sent;

    public WebhookSender(Uri url, EventLog events, ILogger<WebhookSender> logger)
    {
        _url = url;
        _logger = logger;
        events.Forward = Enqueue;
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long Failed => Interlocked.Read(ref _failed);

    private void Enqueue(GatewayEvent e)
    {
        if (_queue.Reader.Count >= QueueLength)
        {
            Interlocked.Increment(ref _dropped);
        }

        _queue.Writer.TryWrite(e);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (GatewayEvent e in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                byte[] body = JsonSerializer.SerializeToUtf8Bytes(e, AdminJsonContext.Default.GatewayEvent);
                for (int attempt = 0; ; attempt++)
                {
                    string? failure;
                    try
                    {
                        using var content = new ByteArrayContent(body);
                        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                        using HttpResponseMessage response = await _http.PostAsync(_url, content, stoppingToken).ConfigureAwait(false);
                        failure = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                    {
                        failure = ex.Message;
                    }

                    if (failure is null)
                    {
                        Interlocked.Increment(ref _sent);
                        break;
                    }

                    if (attempt == s_backoff.Length)
                    {
                        Interlocked.Increment(ref _failed);
                        Log.WebhookFailed(_logger, _url.ToString(), e.Id, failure);
                        break;
                    }

                    await Task.Delay(s_backoff[attempt], stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }
}
