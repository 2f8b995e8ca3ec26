using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Admin;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.Mdns;

namespace PortMapper.Gateway.Mdns;

/// <summary>
/// Advertises the admin page as <c>_http._tcp</c> with multicast DNS, on the one LAN whose address the admin
/// endpoint listens on, with that address only. The socket is bound to that interface: nothing is heard from or
/// sent to the WAN. Answers queries from hosts of that LAN, announces at start and says goodbye at stop.
/// No probing: the instance and host names carry the machine's name, and the host name is the daemon's own.
/// </summary>
public sealed class MdnsService : BackgroundService
{
    private static readonly IPEndPoint s_group = new(IPAddress.Parse(MdnsCodec.MulticastAddress), MdnsCodec.Port);
    private static readonly TimeSpan s_minimumInterval = TimeSpan.FromSeconds(1);

    private readonly GatewayOptions _options;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, DateTimeOffset> _lastMulticast = new(StringComparer.OrdinalIgnoreCase);

    public MdnsService(GatewayOptions options, GatewayMetrics metrics, TimeProvider time, ILogger<MdnsService> logger)
    {
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>The LAN the admin endpoint listens on, if it listens on a LAN address (loopback is not advertised).</summary>
    public static LanInterface? AdvertisedLan(GatewayOptions options) =>
        options.AdminEndpoint is { } admin && options.Settings.AdminMdns
            ? options.LanInterfaces.FirstOrDefault(l => l.IPv4.Any(a => a.Address.Equals(admin.Address)))
            : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (AdvertisedLan(_options) is not { } lan)
        {
            return;
        }

        IPEndPoint admin = _options.AdminEndpoint!;
        string machine = Label(Environment.MachineName);
        var service = new ServiceAdvertisement($"PortMapper on {machine}", "_http._tcp", $"{machine}-portmapper", admin.Address, (ushort)admin.Port, "path=/");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.BindToDevice(lan.Name);
        socket.Bind(new IPEndPoint(IPAddress.Any, MdnsCodec.Port));
        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(s_group.Address, lan.Index));
        socket.SetMulticastScope(lan, admin.Address, hops: 255); // RFC 6762 §11: TTL 255, so receivers can tell it is from the link
        Log.MdnsAdvertising(_logger, service.InstanceName, lan.Name, admin.ToString());
        try
        {
            // RFC 6762 §8.3: announce at least twice, one second apart.
            Send(socket, MdnsCodec.WriteResponse(0, [], service.All, []), s_group);
            await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ConfigureAwait(false);
            Send(socket, MdnsCodec.WriteResponse(0, [], service.All, []), s_group);
            await ReceiveLoopAsync(socket, lan, service, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Goodbye: the same records with TTL 0 (§10.1).
            Send(socket, MdnsCodec.WriteResponse(0, [], [.. service.All.Select(r => r.WithTtl(0))], []), s_group);
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, LanInterface lan, ServiceAdvertisement service, CancellationToken stoppingToken)
    {
        byte[] buffer = new byte[MdnsCodec.MaxDatagram];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!stoppingToken.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, stoppingToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                Log.MdnsSocketError(_logger, e, lan.Name);
                continue;
            }

            var source = (IPEndPoint)received.RemoteEndPoint;
            if (!lan.IsLanHost(source.Address))
            {
                _metrics.Drop("mdns_not_lan");
                continue;
            }

            MdnsDecodeError error = MdnsCodec.TryReadQuery(buffer.AsSpan(0, received.ReceivedBytes), out ushort id, out List<MdnsQuestion> questions);
            if (error != MdnsDecodeError.None)
            {
                if (error != MdnsDecodeError.NotQuery)
                {
                    Log.MdnsIgnored(_logger, source, error.ToString());
                    _metrics.Drop("mdns_malformed");
                }

                continue;
            }

            Answer(socket, service, source, id, questions);
        }
    }

    /// <summary>
    /// RFC 6762 §6.7: a query from a port other than 5353 is a legacy unicast one (answer it directly, with its ID and
    /// questions, TTL at most 10 s). Otherwise the QU bit asks for a unicast answer, and the rest go to the group,
    /// at most once a second per record.
    /// </summary>
    private void Answer(Socket socket, ServiceAdvertisement service, IPEndPoint source, ushort id, List<MdnsQuestion> questions)
    {
        bool legacy = source.Port != MdnsCodec.Port;
        var answers = new List<MdnsRecord>();
        var additional = new List<MdnsRecord>();
        var matched = new List<MdnsQuestion>();
        bool unicast = legacy;
        foreach (MdnsQuestion question in questions)
        {
            var (a, extra) = service.Answer(question);
            if (a.Count == 0)
            {
                continue;
            }

            matched.Add(question);
            unicast |= question.UnicastResponse;
            answers.AddRange(a.Where(r => !answers.Contains(r)));
            additional.AddRange(extra.Where(r => !additional.Contains(r)));
        }

        additional.RemoveAll(answers.Contains);
        if (answers.Count == 0)
        {
            return;
        }

        if (legacy)
        {
            Send(socket, MdnsCodec.WriteResponse(id, matched, [.. answers.Select(r => r.WithTtl(Math.Min(r.Ttl, 10)))], [.. additional.Select(r => r.WithTtl(Math.Min(r.Ttl, 10)))]), source);
            return;
        }

        if (unicast)
        {
            Send(socket, MdnsCodec.WriteResponse(0, [], answers, additional), source);
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        string key = string.Join('|', answers.Select(r => $"{r.Name}/{r.Type}"));
        if (_lastMulticast.TryGetValue(key, out DateTimeOffset last) && now - last < s_minimumInterval)
        {
            return;
        }

        _lastMulticast[key] = now;
        Send(socket, MdnsCodec.WriteResponse(0, [], answers, additional), s_group);
    }

    private void Send(Socket socket, byte[] message, IPEndPoint destination)
    {
        try
        {
            socket.SendTo(message, SocketFlags.None, destination);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Log.MdnsSocketError(_logger, e, destination.ToString());
        }
    }

    /// <summary>A DNS label from the machine's name: letters, digits and hyphens.</summary>
    private static string Label(string name)
    {
        string label = new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
        return label.Trim('-') is { Length: > 0 } clean ? clean[..Math.Min(clean.Length, 40)] : "gateway";
    }
}
