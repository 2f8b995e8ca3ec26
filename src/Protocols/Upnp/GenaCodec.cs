using System.Globalization;
using System.Net;
using System.Text;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// GENA eventing (UDA 1.1 §4): CALLBACK and TIMEOUT headers of SUBSCRIBE, event bodies and NOTIFY requests.
/// </summary>
public static class GenaCodec
{
    public const int MinTimeoutSeconds = 300;
    public const int MaxTimeoutSeconds = 1800;
    private const int MaxCallbacks = 4;

    /// <summary>
    /// The CALLBACK header: one or more &lt;URL&gt;s. Each must be http:// with an IP literal host that is the
    /// subscriber's own address, else the whole subscription is refused: otherwise the gateway could be told to
    /// send requests anywhere (CVE-2020-12695, CallStranger). Returns the first URL.
    /// </summary>
    /// <summary>The longest callback URL accepted; every real control point's is far shorter.</summary>
    public const int MaxCallbackLength = 512;

    public static bool TryParseCallback(string? header, IPAddress subscriber, out Uri? callback)
    {
        callback = null;
        if (string.IsNullOrWhiteSpace(header) || header.Length > 1024)
        {
            return false;
        }

        string rest = header.Trim();
        Uri? first = null;
        int count = 0;
        while (rest.Length > 0)
        {
            if (rest[0] != '<' || ++count > MaxCallbacks)
            {
                return false;
            }

            int end = rest.IndexOf('>', StringComparison.Ordinal);
            if (end < 0 || !IsSubscribersOwn(rest[1..end], subscriber, out Uri? uri))
            {
                return false;
            }

            first ??= uri;
            rest = rest[(end + 1)..].TrimStart();
        }

        callback = first;
        return callback is not null;
    }

    /// <summary>TIMEOUT: "Second-N" or "infinite", clamped to [<see cref="MinTimeoutSeconds"/>, <see cref="MaxTimeoutSeconds"/>].</summary>
    public static int ParseTimeout(string? header)
    {
        string value = header?.Trim() ?? string.Empty;
        if (value.StartsWith("Second-", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(value.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out int seconds))
        {
            return Math.Clamp(seconds, MinTimeoutSeconds, MaxTimeoutSeconds);
        }

        return MaxTimeoutSeconds;
    }

    public static string PropertySet(IEnumerable<KeyValuePair<string, string>> properties)
    {
        var text = new StringBuilder(256);
        text.Append("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">");
        foreach (var (name, value) in properties)
        {
            text.Append("<e:property><").Append(name).Append('>');
            SoapWriter.AppendEscaped(text, value);
            text.Append("</").Append(name).Append("></e:property>");
        }

        text.Append("</e:propertyset>\r\n");
        return text.ToString();
    }

    /// <summary>The NOTIFY request for one event message (UDA 1.1 §4.3.2).</summary>
    public static byte[] Notify(Uri callback, string sid, uint sequence, string body)
    {
        byte[] content = Encoding.UTF8.GetBytes(body);
        string head = $"NOTIFY {callback.PathAndQuery} HTTP/1.1\r\n"
            + $"HOST: {callback.Authority}\r\n"
            + "CONTENT-TYPE: text/xml; charset=\"utf-8\"\r\n"
            + $"CONTENT-LENGTH: {content.Length}\r\n"
            + "NT: upnp:event\r\n"
            + "NTS: upnp:propchange\r\n"
            + $"SID: {sid}\r\n"
            + $"SEQ: {sequence}\r\n"
            + "CONNECTION: close\r\n"
            + "\r\n";
        byte[] request = new byte[Encoding.ASCII.GetByteCount(head) + content.Length];
        int written = Encoding.ASCII.GetBytes(head, request);
        content.CopyTo(request, written);
        return request;
    }

    private static bool IsSubscribersOwn(string text, IPAddress subscriber, out Uri? uri)
    {
        uri = null;
        // A URL is printable ASCII (RFC 3986): control characters, spaces and raw non-ASCII bytes are refused rather
        // than percent-encoded into a NOTIFY request line many times the callback's length.
        if (text.Length > MaxCallbackLength || text.AsSpan().ContainsAnyExceptInRange('!', '~')
            || !Uri.TryCreate(text, UriKind.Absolute, out Uri? parsed)
            || parsed.Scheme != Uri.UriSchemeHttp
            || !string.IsNullOrEmpty(parsed.UserInfo)
            || parsed.HostNameType is not (UriHostNameType.IPv4 or UriHostNameType.IPv6)
            || !IPAddress.TryParse(parsed.DnsSafeHost, out IPAddress? host))
        {
            return false;
        }

        IPAddress own = subscriber.IsIPv4MappedToIPv6 ? subscriber.MapToIPv4() : subscriber;
        // Compared without the IPv6 scope, which a URL does not carry.
        if (!host.GetAddressBytes().AsSpan().SequenceEqual(own.GetAddressBytes()))
        {
            return false;
        }

        uri = parsed;
        return true;
    }
}
