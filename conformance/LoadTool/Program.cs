using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortMapper.Conformance.LoadTool;
using PortMapper.Conformance.PcpClient;

// pm-load natpmp|pcp --gateway A --clients FIRST COUNT --levels 100,1000,10000 --measure N --window W [--pid PID]
// pm-load upnp --gateway A --clients FIRST COUNT --levels ... --measure N --window W [--port P] [--pid PID]
//                                             SOAP AddPortMapping over keep-alive HTTP
// pm-load ready --gateway A [--timeout S]     ms until the gateway answers an external-address request
// pm-load rtsp-server --listen ADDR:PORT        a minimal RTSP server that streams to whoever SETUPs (run it upstream)
// pm-load rtsp --server ADDR:PORT --clients FIRST COUNT --levels 0,100,1000 --measure N --window W [--pid PID]
//                                             RTSP helper: SETUP answered -> first media packet, with held sessions
// pm-load pcp-map --gateway A --client C --port N [--protocol tcp|udp] [--external N] [--lifetime S] [--filter ADDR/LEN]
//                                             one PCP MAP by hand (Debian ships no PCP client)
return args.FirstOrDefault() switch
{
    "natpmp" => await RunLoadAsync(Options.Parse(args[1..]), pcp: false),
    "pcp" => await RunLoadAsync(Options.Parse(args[1..]), pcp: true),
    "upnp" => await RunUpnpLoadAsync(Options.Parse(args[1..])),
    "ready" => await ReadyAsync(Options.Parse(args[1..])),
    "pcp-map" => await PcpMapAsync(Options.Parse(args[1..])),
    "rtsp-server" => await RtspServerAsync(Options.Parse(args[1..])),
    "rtsp" => await RtspLoadAsync(Options.Parse(args[1..])),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: pm-load natpmp|pcp --gateway A --clients FIRST COUNT [--levels 100,1000,10000] [--measure N] [--window W] [--pid PID]");
    Console.Error.WriteLine("       pm-load upnp --gateway A --clients FIRST COUNT [--levels 100,1000,10000] [--measure N] [--window W] [--port P] [--pid PID]");
    Console.Error.WriteLine("       pm-load ready --gateway A [--timeout SECONDS]");
    Console.Error.WriteLine("       pm-load rtsp-server --listen ADDR:PORT");
    Console.Error.WriteLine("       pm-load rtsp --server ADDR:PORT --clients FIRST COUNT [--levels 0,100,1000] [--measure N] [--window W] [--pid PID]");
    Console.Error.WriteLine("       pm-load pcp-map --gateway A --client C --port N [--protocol tcp|udp] [--external N] [--lifetime S] [--filter ADDR/LEN]");
    return 2;
}

static List<IPAddress> Clients(Options o)
{
    IPAddress first = IPAddress.Parse(o.Get("clients"));
    int count = int.Parse(o.Get("clients", 1), CultureInfo.InvariantCulture);
    byte[] bytes = first.GetAddressBytes();
    return [.. Enumerable.Range(0, count).Select(i =>
    {
        uint a = BinaryPrimitives.ReadUInt32BigEndian(bytes) + (uint)i;
        byte[] b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, a);
        return new IPAddress(b);
    })];
}

static async Task<int> RunLoadAsync(Options o, bool pcp)
{
    int window = int.Parse(o.Get("window", "64"), CultureInfo.InvariantCulture);
    using var load = new PortControlLoad(IPAddress.Parse(o.Get("gateway")), Clients(o), window, pcp);
    using var cts = new CancellationTokenSource();
    load.StartReceivers(cts.Token);
    int result = await RunLevelsAsync(o, load, $"{(pcp ? "PCP MAP" : "NAT-PMP map")} load: {load}");
    await cts.CancelAsync();
    return result;
}

static async Task<int> RunUpnpLoadAsync(Options o)
{
    int window = int.Parse(o.Get("window", "16"), CultureInfo.InvariantCulture);
    using var load = new UpnpLoad(IPAddress.Parse(o.Get("gateway")), int.Parse(o.Get("port", "5000"), CultureInfo.InvariantCulture), Clients(o), window);
    return await RunLevelsAsync(o, load, $"UPnP AddPortMapping load: {load}");
}

/// <summary>For each level: fill the table to it, measure maps of new ports, print a row, delete the measured ones.</summary>
static async Task<int> RunLevelsAsync(Options o, IMappingLoad load, string title)
{
    int[] levels = [.. o.Get("levels", "100,1000,10000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
    int measure = int.Parse(o.Get("measure", "5000"), CultureInfo.InvariantCulture);
    int? pid = o.Has("pid") ? int.Parse(o.Get("pid"), CultureInfo.InvariantCulture) : null;
    Console.WriteLine($"{title}; each level: fill to the level, then {measure} measured maps of new ports, then delete them");
    Console.WriteLine("| live leases | measured requests | requests/s | p50 ms | p99 ms | max ms | errors | lost | daemon RSS MB |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    foreach (int level in levels)
    {
        if (level > load.Mapped)
        {
            await load.MapAsync(level - load.Mapped, 3600);
        }

        var (seconds, latencies) = await load.MapAsync(measure, 3600);
        latencies.Sort();
        string rss = pid is { } p ? RssMegabytes(p) : "-";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {level:N0}-{level + measure:N0} | {latencies.Count:N0} | {latencies.Count / seconds:N0} | {PortControlLoad.Percentile(latencies, 50):F2} | {PortControlLoad.Percentile(latencies, 99):F2} | {latencies.LastOrDefault():F2} | {load.Errors} | {load.Lost} | {rss} |"));
        await load.DeleteLastAsync(measure);
    }

    return load.Errors == 0 && load.Lost == 0 ? 0 : 1;
}

static async Task<int> ReadyAsync(Options o)
{
    var gateway = new IPEndPoint(IPAddress.Parse(o.Get("gateway")), 5351);
    double timeout = double.Parse(o.Get("timeout", "20"), CultureInfo.InvariantCulture);
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    socket.Bind(new IPEndPoint(IPAddress.Any, 0));
    var clock = Stopwatch.StartNew();
    byte[] reply = new byte[16];
    while (clock.Elapsed.TotalSeconds < timeout)
    {
        socket.SendTo(new byte[] { 0, 0 }, gateway);
        using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(10));
        try
        {
            int n = await socket.ReceiveAsync(reply, SocketFlags.None, wait.Token);
            if (n == 12)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"answered after {clock.Elapsed.TotalMilliseconds:F0} ms"));
                return 0;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
        }
    }

    Console.WriteLine("no answer");
    return 1;
}

static async Task<int> PcpMapAsync(Options o)
{
    var gateway = IPAddress.Parse(o.Get("gateway"));
    var client = IPAddress.Parse(o.Get("client"));
    ushort port = ushort.Parse(o.Get("port"), CultureInfo.InvariantCulture);
    ushort external = ushort.Parse(o.Get("external", o.Get("port")), CultureInfo.InvariantCulture);
    uint lifetime = uint.Parse(o.Get("lifetime", "3600"), CultureInfo.InvariantCulture);
    byte protocol = o.Get("protocol", "tcp") == "udp" ? PcpMessage.Udp : PcpMessage.Tcp;
    var options = new List<byte[]>();
    if (o.Has("filter"))
    {
        var network = IPNetwork.Parse(o.Get("filter"));
        options.Add(PcpMessage.Filter(network.BaseAddress, network.PrefixLength, 0));
    }

    using var socket = new Socket(client.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
    socket.Bind(new IPEndPoint(client, 0));
    byte[] request = PcpMessage.Map(client, protocol, port, external, lifetime, PcpMessage.NewNonce(), [.. options]);
    PcpAnswer? answer = await PcpMessage.AskAsync(socket, new IPEndPoint(gateway, 5351), request, TimeSpan.FromSeconds(2));
    if (answer is null)
    {
        Console.WriteLine("no answer");
        return 1;
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"result {answer.Result}, lifetime {answer.Lifetime} s, epoch {answer.Epoch}: {answer.ExternalAddress} port {answer.ExternalPort} -> {client} port {answer.InternalPort}"));
    return answer.Result == PcpAnswer.Success ? 0 : 1;
}

static async Task<int> RtspServerAsync(Options o)
{
    using var cts = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
    try
    {
        await RtspBenchServer.RunAsync(IPEndPoint.Parse(o.Get("listen")), cts.Token);
    }
    catch (OperationCanceledException)
    {
    }

    return 0;
}

/// <summary>For each level: hold that many sessions open (two media ports each), then measure new sessions.</summary>
static async Task<int> RtspLoadAsync(Options o)
{
    int[] levels = [.. o.Get("levels", "0,100,1000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
    int measure = int.Parse(o.Get("measure", "500"), CultureInfo.InvariantCulture);
    int window = int.Parse(o.Get("window", "8"), CultureInfo.InvariantCulture);
    int? pid = o.Has("pid") ? int.Parse(o.Get("pid"), CultureInfo.InvariantCulture) : null;
    using var load = new RtspLoad(IPEndPoint.Parse(o.Get("server")), Clients(o));
    Console.WriteLine($"RTSP helper load: {window} sessions at a time; each level: hold that many sessions open, then {measure} measured sessions (SETUP, first media packet, TEARDOWN)");
    Console.WriteLine("| held sessions (media ports) | measured sessions | sessions/s | SETUP answer -> media p50 ms | p99 ms | max ms | errors | lost | daemon RSS MB |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    foreach (int level in levels)
    {
        if (level > load.Held)
        {
            await load.HoldAsync(level - load.Held, window);
        }

        var (seconds, latencies) = await load.MeasureAsync(measure, window);
        latencies.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {load.Held:N0} ({2 * load.Held:N0}) | {latencies.Count:N0} | {latencies.Count / seconds:N0} | {PortControlLoad.Percentile(latencies, 50):F2} | {PortControlLoad.Percentile(latencies, 99):F2} | {latencies.LastOrDefault():F2} | {load.Errors} | {load.Lost} | {(pid is { } p ? RssMegabytes(p) : "-")} |"));
    }

    return load.Errors == 0 && load.Lost == 0 ? 0 : 1;
}

static string RssMegabytes(int pid)
{
    string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
    return line is null ? "?" : (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0).ToString("F1", CultureInfo.InvariantCulture);
}

internal sealed class Options
{
    private readonly Dictionary<string, List<string>> _values = [];

    public static Options Parse(string[] args)
    {
        var o = new Options();
        string? key = null;
        foreach (string arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                key = arg[2..];
                o._values[key] = [];
            }
            else if (key is not null)
            {
                o._values[key].Add(arg);
            }
        }

        return o;
    }

    public bool Has(string key) => _values.ContainsKey(key);

    public string Get(string key, int index = 0) => _values[key][index];

    public string Get(string key, string fallback) => _values.TryGetValue(key, out var v) && v.Count > 0 ? v[0] : fallback;
}
