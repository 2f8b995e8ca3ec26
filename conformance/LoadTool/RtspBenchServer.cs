using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace PortMapper.Conformance.LoadTool;

/// <summary>
/// A minimal RTSP server for the helper benchmark: answers SETUP with the client ports asked for and at once starts
/// sending a datagram a millisecond to the first of them (at the address the connection came from: the gateway's
/// external address), as a server streams after PLAY; TEARDOWN or the connection's end stop it.
/// </summary>
internal static partial class RtspBenchServer
{
    public static async Task RunAsync(IPEndPoint listen, CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(listen);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start(1024);
        using var media = new Socket(listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        media.Bind(new IPEndPoint(listen.Address, 0));
        Console.WriteLine($"rtsp-server on {listen}, media from {media.LocalEndPoint}");
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client = await listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            _ = ServeAsync(client, media, cancellationToken);
        }
    }

    private static async Task ServeAsync(Socket client, Socket media, CancellationToken cancellationToken)
    {
        using (client)
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var remote = (IPEndPoint)client.RemoteEndPoint!;
            byte[] buffer = new byte[8192];
            var pending = new StringBuilder();
            Task? sending = null;
            try
            {
                while (true)
                {
                    int n = await client.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    pending.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    string text = pending.ToString();
                    int end;
                    while ((end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal)) >= 0)
                    {
                        string request = text[..end];
                        text = text[(end + 4)..];
                        string cseq = CSeqPattern().Match(request).Groups[1].Value;
                        Match ports = ClientPortPattern().Match(request);
                        string answer = $"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: {remote.Port}\r\n";
                        if (request.StartsWith("SETUP ", StringComparison.Ordinal) && ports.Success)
                        {
                            answer += $"Transport: RTP/AVP;unicast;client_port={ports.Groups[1].Value};server_port=6970-6971\r\n";
                            await client.SendAsync(Encoding.ASCII.GetBytes(answer + "\r\n"), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                            int port = int.Parse(ports.Groups[2].Value, CultureInfo.InvariantCulture);
                            sending ??= SendMediaAsync(media, new IPEndPoint(remote.Address, port), stop.Token);
                            continue;
                        }

                        await client.SendAsync(Encoding.ASCII.GetBytes(answer + "\r\n"), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                        if (request.StartsWith("TEARDOWN ", StringComparison.Ordinal))
                        {
                            await stop.CancelAsync().ConfigureAwait(false);
                        }
                    }

                    pending.Clear().Append(text);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }

            await stop.CancelAsync().ConfigureAwait(false);
            if (sending is not null)
            {
                await sending.ConfigureAwait(false);
            }
        }
    }

    /// <summary>A small datagram every millisecond, for at most 2 s (what the benchmark times is the first one to arrive).</summary>
    private static async Task SendMediaAsync(Socket media, IPEndPoint to, CancellationToken stop)
    {
        byte[] packet = new byte[172];
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(1));
        try
        {
            for (int i = 0; i < 2_000 && await timer.WaitForNextTickAsync(stop).ConfigureAwait(false); i++)
            {
                await media.SendToAsync(packet, SocketFlags.None, to, stop).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
        }
    }

    [GeneratedRegex(@"CSeq: *(\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex CSeqPattern();

    [GeneratedRegex(@"client_port=((\d+)-?\d*)")]
    private static partial Regex ClientPortPattern();
}
