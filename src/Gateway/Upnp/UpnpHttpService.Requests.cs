using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>Request handling: Host check (DNS rebinding), then descriptions, control or eventing by method and path.</summary>
public sealed partial class UpnpHttpService
{
    private const string XmlContentType = "text/xml; charset=\"utf-8\"";

    protected override async Task HandleAsync(HttpContext context)
    {
        try
        {
            await DispatchAsync(context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away mid-request: nothing to answer, and nothing worth more than a debug line.
            Log.UpnpConnectionRefused(_logger, context.Connection.RemoteIpAddress?.ToString(), context.Connection.LocalIpAddress?.ToString(), "client left mid-request");
        }
    }

    private async Task DispatchAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        IPAddress? client = context.Connection.RemoteIpAddress;
        if (client is { IsIPv4MappedToIPv6: true })
        {
            client = client.MapToIPv4();
        }

        LanInterface? lan = LanOf(context.Connection.LocalIpAddress);
        if (client is null || lan is null)
        {
            context.Abort();
            return;
        }

        // DNS rebinding: a page elsewhere can make a browser send requests here under its own host name.
        if (!NamesGateway(request.Headers.Host, context.Connection.LocalIpAddress!))
        {
            await RefuseAsync(context, client, StatusCodes.Status400BadRequest, "Host header does not name the gateway").ConfigureAwait(false);
            return;
        }

        string path = request.Path.Value ?? string.Empty;
        var caller = new UpnpCaller(client, lan, _deviceResolver.Resolve(client, lan.Index));
        switch (request.Method)
        {
            case "GET" or "HEAD":
                await DocumentAsync(context, path, client).ConfigureAwait(false);
                break;
            case "POST" when UpnpDevices.ServiceAt(path, "/ctl/") is { } service:
                await ControlAsync(context, service, caller).ConfigureAwait(false);
                break;
            case "SUBSCRIBE" or "UNSUBSCRIBE" when UpnpDevices.ServiceAt(path, "/evt/") is { } service:
                await _gena.HandleAsync(context, service, caller).ConfigureAwait(false);
                break;
            case "POST" or "SUBSCRIBE" or "UNSUBSCRIBE":
                await RefuseAsync(context, client, StatusCodes.Status404NotFound, "no such service").ConfigureAwait(false);
                break;
            default:
                context.Response.Headers.Allow = "GET, HEAD, POST, SUBSCRIBE, UNSUBSCRIBE";
                await RefuseAsync(context, client, StatusCodes.Status405MethodNotAllowed, "method not allowed").ConfigureAwait(false);
                break;
        }
    }

    private async Task DocumentAsync(HttpContext context, string path, IPAddress client)
    {
        if (_devices.Document(path) is not { } document)
        {
            await RefuseAsync(context, client, StatusCodes.Status404NotFound, "no such document").ConfigureAwait(false);
            return;
        }

        HttpResponse response = context.Response;
        response.ContentType = XmlContentType;
        response.ContentLength = document.Length;
        if (context.Request.Method == "GET")
        {
            await response.Body.WriteAsync(document, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task ControlAsync(HttpContext context, ServiceDefinition service, UpnpCaller caller)
    {
        HttpRequest request = context.Request;
        IPAddress client = caller.Address;
        if (!TryParseSoapAction(request.Headers["SOAPAction"], out string serviceType, out string actionName))
        {
            await RefuseAsync(context, client, StatusCodes.Status400BadRequest, "SOAPAction missing or malformed").ConfigureAwait(false);
            return;
        }

        if (!IsXml(request.ContentType))
        {
            await RefuseAsync(context, client, StatusCodes.Status415UnsupportedMediaType, "Content-Type is not XML").ConfigureAwait(false);
            return;
        }

        byte[] body;
        try
        {
            body = await ReadBodyAsync(request, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            await RefuseAsync(context, client, e.StatusCode, e.Message).ConfigureAwait(false);
            return;
        }

        SoapRejection rejection = SoapReader.TryRead(body, out SoapCall? call);
        if (rejection != SoapRejection.None)
        {
            await RefuseAsync(context, client, StatusCodes.Status400BadRequest, rejection.ToString()).ConfigureAwait(false);
            return;
        }

        // The header and the body must name the same action, of this service in a version it implements.
        if (call!.ServiceType != serviceType || call.ActionName != actionName || !Implements(service, serviceType))
        {
            Log.UpnpActionRefused(_logger, client, actionName, (int)UpnpErrorCode.InvalidAction, "SOAPAction and body disagree, or wrong service");
            _metrics.Request("upnp", ((int)UpnpErrorCode.InvalidAction).ToString(System.Globalization.CultureInfo.InvariantCulture));
            await WriteAsync(context, StatusCodes.Status500InternalServerError, SoapWriter.Fault(UpnpError.InvalidAction)).ConfigureAwait(false);
            return;
        }

        SoapResult result = await _control.ExecuteAsync(service, call, caller, context.RequestAborted).ConfigureAwait(false);
        _metrics.Request("upnp", result.Error is { } failed ? ((int)failed.Code).ToString(System.Globalization.CultureInfo.InvariantCulture) : "success");
        await (result.Error is { } error
            ? WriteAsync(context, StatusCodes.Status500InternalServerError, SoapWriter.Fault(error))
            : WriteAsync(context, StatusCodes.Status200OK, SoapWriter.Response(call.ServiceType, call.ActionName, result.Outputs))).ConfigureAwait(false);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new BadHttpRequestException("body too large", StatusCodes.Status413PayloadTooLarge);
        }

        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 1024);
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>The SOAPAction header: "serviceType#actionName", usually quoted (UDA 1.1 §3.2.1).</summary>
    public static bool TryParseSoapAction(StringValues header, out string serviceType, out string actionName)
    {
        serviceType = actionName = string.Empty;
        if (header.Count != 1 || header[0] is not { } raw)
        {
            return false;
        }

        string value = raw.Trim();
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            value = value[1..^1];
        }

        int hash = value.IndexOf('#', StringComparison.Ordinal);
        if (hash <= 0 || hash == value.Length - 1)
        {
            return false;
        }

        serviceType = value[..hash];
        actionName = value[(hash + 1)..];
        return true;
    }

    /// <summary>A request for a version up to the one at this URL: a WANIPConnection:1 action may be sent to :2.</summary>
    internal static bool Implements(ServiceDefinition service, string serviceType)
    {
        int colon = serviceType.LastIndexOf(':');
        return colon > 0 && serviceType[..colon] == service.TypeName
            && int.TryParse(serviceType.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int version)
            && version >= 1 && version <= service.Version;
    }

    internal static bool IsXml(string? contentType)
    {
        string media = (contentType ?? string.Empty).Split(';')[0].Trim();
        return media.Equals("text/xml", StringComparison.OrdinalIgnoreCase) || media.Equals("application/xml", StringComparison.OrdinalIgnoreCase);
    }

    private bool NamesGateway(StringValues header, IPAddress local) => NamesGateway(header, local, Port);

    /// <summary>The Host header must be the address the request came to (any port given must be ours).</summary>
    internal static bool NamesGateway(StringValues header, IPAddress local, int ourPort)
    {
        if (header.Count != 1 || string.IsNullOrEmpty(header[0]))
        {
            return false;
        }

        string host = header[0]!;
        string? port = null;
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            port = host.Length > close + 1 ? (host[close + 1] == ':' ? host[(close + 2)..] : "bad") : null;
            host = host[1..close];
        }
        else if (host.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0)
        {
            port = host[(colon + 1)..];
            host = host[..colon];
        }

        if (port is not null && port != ourPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            return false;
        }

        // A literal address and nothing else: no spaces or control characters that a lenient parser would skip.
        foreach (char c in host)
        {
            if (!char.IsAsciiHexDigit(c) && c is not ('.' or ':'))
            {
                return false;
            }
        }

        IPAddress target = local.IsIPv4MappedToIPv6 ? local.MapToIPv4() : local;
        return UpnpArguments.TryAddress(host, target.AddressFamily, out IPAddress? named)
            && named!.GetAddressBytes().AsSpan().SequenceEqual(target.GetAddressBytes());
    }

    private async Task RefuseAsync(HttpContext context, IPAddress client, int status, string reason)
    {
        Log.UpnpHttpRefused(_logger, context.Request.Method, context.Request.Path.Value ?? string.Empty, client, status, reason);
        _metrics.Drop("upnp_http_" + status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        context.Response.StatusCode = status;
        context.Response.ContentLength = 0;
        await context.Response.CompleteAsync().ConfigureAwait(false);
    }

    private static Task WriteAsync(HttpContext context, int status, string body)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        HttpResponse response = context.Response;
        response.StatusCode = status;
        response.ContentType = XmlContentType;
        response.ContentLength = bytes.Length;
        response.Headers["EXT"] = string.Empty;
        response.Headers.Server = UpnpDevices.ServerString;
        return response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}
