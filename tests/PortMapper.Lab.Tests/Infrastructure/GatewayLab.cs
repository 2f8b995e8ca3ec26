using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace PortMapper.Lab.Tests.Infrastructure;

/// <summary>
/// One namespace lab (conformance/lab/lab.sh) with a prefix of its own, and the daemon in its gateway
/// namespace. Each test class gets one; it is torn down when the class is done.
/// </summary>
public partial class GatewayLab : IAsyncLifetime
{
    public static readonly IPAddress GatewayLan = IPAddress.Parse("192.168.77.1");
    public static readonly IPAddress External = IPAddress.Parse("203.0.113.1");
    public static readonly IPAddress Lan1Address = IPAddress.Parse("192.168.77.10");
    public static readonly IPAddress Lan2Address = IPAddress.Parse("192.168.77.11");
    public static readonly IPAddress Lan1Address6 = IPAddress.Parse("2001:db8:77::10");
    public static readonly IPAddress GatewayLan6 = IPAddress.Parse("2001:db8:77::1");
    public static readonly IPAddress External6 = IPAddress.Parse("2001:db8:ffff::1");
    public static readonly IPAddress WanHost = IPAddress.Parse("203.0.113.2");
    public static readonly IPAddress WanHost2 = IPAddress.Parse("203.0.113.3");

    private static int s_counter;

    public GatewayLab()
    {
        Prefix = string.Create(CultureInfo.InvariantCulture, $"pl{Environment.ProcessId % 10000}x{Interlocked.Increment(ref s_counter)}-");
        StateDirectory = Path.Combine(Path.GetTempPath(), "portmapper-lab-" + Prefix.TrimEnd('-'));
    }

    public string Prefix { get; }

    public string Gw => Prefix + "gw";

    public string Wan => Prefix + "wan";

    public string Lan1 => Prefix + "lan1";

    public string Lan2 => Prefix + "lan2";

    public string StateDirectory { get; }

    internal Daemon? Daemon { get; private set; }

    /// <summary>Extra arguments for the daemon; set before the lab starts, for example in a derived fixture.</summary>
    public IReadOnlyList<string> DaemonArgs { get; init; } = [];

    public string ConfigJson { get; init; } = "{}";

    /// <summary>The configuration file the daemon was started with (a reload reads it again).</summary>
    public string ConfigPath => Path.Combine(Path.GetTempPath(), Prefix + "config.json");

    public async Task InitializeAsync()
    {
        ProcessResult up = await Shell.RunAsync("bash", [Repository.LabScript, "up", Prefix]);
        if (up.ExitCode != 0)
        {
            throw new InvalidOperationException("lab.sh up failed: " + up);
        }

        if (Directory.Exists(StateDirectory))
        {
            Directory.Delete(StateDirectory, recursive: true);
        }

        Directory.CreateDirectory(StateDirectory);
        await File.WriteAllTextAsync(ConfigPath, ConfigJson);
        Daemon = new Daemon(Gw, StateDirectory, ["--config", ConfigPath, .. DaemonArgs]);
        await Daemon.StartAsync();
    }

    public async Task DisposeAsync()
    {
        Daemon?.Dispose();
        await Shell.RunAsync("bash", [Repository.LabScript, "down", Prefix]);
        if (Directory.Exists(StateDirectory))
        {
            Directory.Delete(StateDirectory, recursive: true);
        }

        File.Delete(ConfigPath);
    }

    /// <summary>Runs Debian's natpmpc in a LAN namespace: map (or, with lifetime 0, delete) a port.</summary>
    internal async Task<NatPmpcResult> NatPmpcAsync(string ns, int publicPort, int privatePort, string protocol, int lifetime)
    {
        ProcessResult r = await Shell.InNamespaceAsync(ns, "natpmpc", "-g", GatewayLan.ToString(), "-a",
            publicPort.ToString(CultureInfo.InvariantCulture), privatePort.ToString(CultureInfo.InvariantCulture), protocol,
            lifetime.ToString(CultureInfo.InvariantCulture));
        Match m = MappedPattern().Match(r.Output);
        Match epoch = EpochPattern().Match(r.Output);
        return new NatPmpcResult(
            r,
            m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null,
            m.Success ? int.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) : null,
            epoch.Success ? long.Parse(epoch.Groups[1].Value, CultureInfo.InvariantCulture) : null);
    }

    /// <summary>The nftables elements of the daemon's table, as nft lists them.</summary>
    internal async Task<string> KernelTableAsync() => (await Shell.InNamespaceAsync(Gw, "nft", "list", "table", "inet", "portmapper")).Output;

    /// <summary>A LAN host serves TCP: each connection gets <paramref name="banner"/> and is closed.</summary>
    internal static TcpListener ServeTcp(string ns, int port, string banner)
    {
        TcpListener listener = NetNs.Run(ns, () =>
        {
            var l = new TcpListener(IPAddress.IPv6Any, port);
            l.Server.DualMode = true; // IPv4 and IPv6 alike
            l.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            l.Start();
            return l;
        });
        _ = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using TcpClient client = await listener.AcceptTcpClientAsync();
                    await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(banner + "\n"));
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException or InvalidOperationException)
            {
            }
        });
        return listener;
    }

    /// <summary>Connects from a namespace (optionally from one of its addresses) and reads one line; null when the connection fails or times out.</summary>
    internal static async Task<string?> TryTcpAsync(string ns, IPAddress address, int port, TimeSpan? timeout = null, IPAddress? from = null)
    {
        using Socket socket = NetNs.Run(ns, () =>
        {
            var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (from is not null)
            {
                s.Bind(new IPEndPoint(from, 0));
            }

            return s;
        });
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(address, port, cts.Token);
            byte[] buffer = new byte[256];
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Encoding.ASCII.GetString(buffer, 0, n).Trim();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>A UDP socket in a namespace, bound to a port (0: any).</summary>
    internal static Socket Udp(string ns, int port = 0, IPAddress? address = null) => NetNs.Run(ns, () =>
    {
        var s = new Socket(address?.AddressFamily ?? AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        s.Bind(new IPEndPoint(address ?? IPAddress.Any, port));
        return s;
    });

    /// <summary>Receives one datagram, or null after the timeout.</summary>
    internal static async Task<(byte[] Data, IPEndPoint From)?> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        byte[] buffer = new byte[2048];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            SocketReceiveFromResult r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, any, cts.Token);
            return (buffer[..r.ReceivedBytes], (IPEndPoint)r.RemoteEndPoint);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Sends a PCP request from <paramref name="client"/> in a namespace and returns the parsed answer, or null on silence.</summary>
    internal static async Task<PortMapper.Conformance.PcpClient.PcpAnswer?> PcpAsync(string ns, IPAddress client, IPAddress server, byte[] request, TimeSpan? timeout = null)
    {
        using Socket socket = Udp(ns, address: client);
        return await PortMapper.Conformance.PcpClient.PcpMessage.AskAsync(socket, new IPEndPoint(server, 5351), request, timeout ?? TimeSpan.FromSeconds(1));
    }

    /// <summary>Sends a raw request to the gateway's NAT-PMP port and returns the reply, or null on silence.</summary>
    internal static async Task<byte[]?> NatPmpExchangeAsync(string ns, IPAddress server, byte[] request, TimeSpan? timeout = null)
    {
        using Socket socket = Udp(ns);
        await socket.SendToAsync(request, SocketFlags.None, new IPEndPoint(server, 5351));
        var reply = await ReceiveAsync(socket, timeout ?? TimeSpan.FromSeconds(1));
        return reply?.Data;
    }

    [GeneratedRegex(@"Mapped public port (\d+) protocol (TCP|UDP) to local port (\d+) liftime (\d+)")]
    private static partial Regex MappedPattern();

    [GeneratedRegex(@"epoch = (\d+)")]
    private static partial Regex EpochPattern();
}
