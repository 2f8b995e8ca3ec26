using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PortMapper.Lab.Tests.Infrastructure;

/// <summary>A hand-written HTTP exchange from a namespace: what hostile or broken clients send, byte for byte.</summary>
internal static class RawHttp
{
    public const int UpnpPort = 5000;

    /// <summary>Sends the request and reads until the server closes or the timeout; empty when the connection was refused or dropped.</summary>
    public static async Task<string> ExchangeAsync(string ns, IPAddress server, string request, TimeSpan? timeout = null, int port = UpnpPort)
    {
        using Socket socket = NetNs.Run(ns, () => new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(3));
        var answer = new StringBuilder();
        try
        {
            await socket.ConnectAsync(server, port, cts.Token);
            await socket.SendAsync(Encoding.UTF8.GetBytes(request), SocketFlags.None, cts.Token);
            byte[] buffer = new byte[8192];
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    break;
                }

                answer.Append(Encoding.UTF8.GetString(buffer, 0, n));
                if (IsComplete(answer.ToString()))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
        }

        return answer.ToString();
    }

    /// <summary>A SOAP control request as a client sends it; each part can be broken by the caller.</summary>
    public static string Soap(string path, string serviceType, string action, string arguments, string? host = "192.168.77.1:5000", string? soapAction = null, string contentType = "text/xml; charset=\"utf-8\"", string? body = null)
    {
        body ??= "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
            + $"<s:Body><u:{action} xmlns:u=\"{serviceType}\">{arguments}</u:{action}></s:Body></s:Envelope>";
        var request = new StringBuilder();
        request.Append("POST ").Append(path).Append(" HTTP/1.1\r\n");
        if (host is not null)
        {
            request.Append("Host: ").Append(host).Append("\r\n");
        }

        request.Append("Content-Type: ").Append(contentType).Append("\r\n");
        if (soapAction != string.Empty)
        {
            request.Append("SOAPAction: \"").Append(soapAction ?? $"{serviceType}#{action}").Append("\"\r\n");
        }

        request.Append("Content-Length: ").Append(Encoding.UTF8.GetByteCount(body)).Append("\r\nConnection: close\r\n\r\n").Append(body);
        return request.ToString();
    }

    public static int Status(string response) =>
        response.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(response.AsSpan(9, 3), out int status) ? status : 0;

    private static bool IsComplete(string text)
    {
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        string head = text[..end];
        int at = head.IndexOf("Content-Length:", StringComparison.OrdinalIgnoreCase);
        if (at < 0)
        {
            return false;
        }

        int lineEnd = head.IndexOf("\r\n", at, StringComparison.Ordinal);
        string value = (lineEnd < 0 ? head[(at + 15)..] : head[(at + 15)..lineEnd]).Trim();
        return int.TryParse(value, out int length) && Encoding.UTF8.GetByteCount(text[(end + 4)..]) >= length;
    }
}
