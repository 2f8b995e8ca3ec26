using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortMapper.Conformance.LoadTool;
using PortMapper.Conformance.PcpClient;

// pm-load natpmp|pcp --gateway A --clients FIRST COUNT --levels 100,1000,10000 --measure N --window W [--pid PID]
// pm-load upnp --gateway A --clients FIRST COUNT --levels ... --measure N --window W [--port P] [--control PATH]
//              [--new-connection] [--pid PID]   SOAP AddPortMapping over keep-alive HTTP, or a connection per request
//   (natpmp, pcp and upnp: --fill-limit S stops filling a level, and then measuring at it, after S seconds each)
// pm-load sequential natpmp-map|pcp-map|natpmp-renew|upnp-add --gateway A --clients FIRST COUNT [--rounds R]
//              [--leases L] [--port P] [--control PATH]
//                                             one request at a time, R rounds of L requests, 0 to L live leases
// pm-load ready --gateway A [--timeout S]     ms until the gateway answers an external-address request
// pm-load rtsp-server --listen ADDR:PORT        a minimal RTSP server that streams to whoever SETUPs (run it upstream)
// pm-load rtsp --server ADDR:PORT --clients FIRST COUNT --levels 0,100,1000 --measure N --window W [--pid PID]
//                                             RTSP helper: SETUP answered -> first media packet, with held sessions
// pm-load soak --gateway A --clients FIRST COUNT --seconds S --token-file F [--rtsp ADDR:PORT] [--ledger FILE]
//                                             the soak's mixed load with a ledger of acknowledged leases, audited
//                                             against the admin API (on the gateway's LAN address) every 15 s and at the end
// pm-load pcp-map --gateway A --client C --port N [--protocol tcp|udp] [--external N] [--lifetime S] [--filter ADDR/LEN]
//                                             one PCP MAP by hand (Debian ships no PCP client)
return args.FirstOrDefault() switch
{
    "natpmp" => await RunLoadAsync(Options.Parse(args[1..]), pcp: false),
    "pcp" => await RunLoadAsync(Options.Parse(args[1..]), pcp: true),
    "upnp" => await RunUpnpLoadAsync(Options.Parse(args[1..])),
    "sequential" when args.Length > 1 => await SequentialAsync(args[1], Options.Parse(args[2..])),
    "ready" => await ReadyAsync(Options.Parse(args[1..])),
    "pcp-map" => await PcpMapAsync(Options.Parse(args[1..])),
    "rtsp-server" => await RtspServerAsync(Options.Parse(args[1..])),
    "rtsp" => await RtspLoadAsync(Options.Parse(args[1..])),
    "soak" => await SoakAsync(Options.Parse(args[1..])),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: pm-load natpmp|pcp --gateway A --clients FIRST COUNT [--levels 100,1000,10000] [--measure N] [--window W] [--pid PID]");
    Console.Error.WriteLine("       pm-load upnp --gateway A --clients FIRST COUNT [--levels 100,1000,10000] [--measure N] [--window W] [--port P] [--control PATH] [--new-connection] [--pid PID]");
    Console.Error.WriteLine("       pm-load sequential natpmp-map|pcp-map|natpmp-renew|upnp-add --gateway A --clients FIRST COUNT [--rounds R] [--leases L] [--port P] [--control PATH]");
    Console.Error.WriteLine("       pm-load ready --gateway A [--timeout SECONDS]");
    Console.Error.WriteLine("       pm-load rtsp-server --listen ADDR:PORT");
    Console.Error.WriteLine("       pm-load rtsp --server ADDR:PORT --clients FIRST COUNT [--levels 0,100,1000] [--measure N] [--window W] [--pid PID]");
    Console.Error.WriteLine("       pm-load soak --gateway A --clients FIRST COUNT --seconds S --token-file F [--rtsp ADDR:PORT] [--ledger FILE]");
    Console.Error.WriteLine("       pm-load pcp-map --gateway A --client C --port N [--protocol tcp|udp] [--external N] [--lifetime S] [--filter ADDR/LEN]");
    return 2;
}

static async Task<int> SoakAsync(Options o)
{
    using var soak = new SoakLoad(IPAddress.Parse(o.Get("gateway")), Clients(o), o.Get("token-file"), o.Has("rtsp") ? IPEndPoint.Parse(o.Get("rtsp")) : null);
    await soak.RunAsync(TimeSpan.FromSeconds(double.Parse(o.Get("seconds"), CultureInfo.InvariantCulture)));
    bool audited = await soak.FinalAuditAsync(TimeSpan.FromSeconds(60));
    if (o.Has("ledger"))
    {
        soak.WriteLedger(o.Get("ledger"));
    }

    Console.WriteLine("#soak " + soak + (audited ? string.Empty : " final-audit=failed"));
    return audited ? 0 : 1;
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
    using var load = NewUpnpLoad(o, window, o.Has("new-connection"));
    return await RunLevelsAsync(o, load, $"UPnP AddPortMapping load: {load}");
}

static UpnpLoad NewUpnpLoad(Options o, int window, bool connectionPerRequest) =>
    new(IPAddress.Parse(o.Get("gateway")), int.Parse(o.Get("port", "5000"), CultureInfo.InvariantCulture), o.Get("control", "/ctl/IPConn1"),
        Clients(o), window, connectionPerRequest);

/// <summary>
/// One request at a time: <c>rounds</c> rounds of <c>leases</c> measured requests (maps of new ports, deleted
/// after each round; or renewals of the same ports), so the table holds 0 to <c>leases</c> leases throughout.
/// </summary>
static async Task<int> SequentialAsync(string kind, Options o)
{
    int rounds = int.Parse(o.Get("rounds", "10"), CultureInfo.InvariantCulture);
    int leases = int.Parse(o.Get("leases", "100"), CultureInfo.InvariantCulture);
    var gateway = IPAddress.Parse(o.Get("gateway"));
    using var cts = new CancellationTokenSource();
    IMappingLoad load;
    PortControlLoad? udp = null;
    if (kind == "upnp-add")
    {
        load = NewUpnpLoad(o, 1, connectionPerRequest: true);
    }
    else if (kind is "natpmp-map" or "pcp-map" or "natpmp-renew")
    {
        udp = new PortControlLoad(gateway, Clients(o), 1, pcp: kind == "pcp-map");
        udp.StartReceivers(cts.Token);
        load = udp;
    }
    else
    {
        return Usage();
    }

    var all = new List<double>();
    if (kind == "natpmp-renew")
    {
        await udp!.MapAsync(leases, 3600);
    }

    for (int round = 0; round < rounds; round++)
    {
        var (_, latencies) = udp is not null && kind == "natpmp-renew" ? await udp.RenewLastAsync(leases, 3600) : await load.MapAsync(leases, 3600);
        all.AddRange(latencies);
        if (kind != "natpmp-renew")
        {
            await load.DeleteLastAsync(leases);
        }
    }

    if (kind == "natpmp-renew")
    {
        await udp!.DeleteLastAsync(leases);
    }

    await cts.CancelAsync();
    (load as IDisposable)?.Dispose();
    all.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"#result {kind} n={all.Count} p50={PortControlLoad.Percentile(all, 50):F3} p99={PortControlLoad.Percentile(all, 99):F3} max={all.LastOrDefault():F3} errors={load.Errors} lost={load.Lost}"));
    return load.Errors == 0 && load.Lost == 0 ? 0 : 1;
}

/// <summary>For each level: fill the table to it, measure maps of new ports, print a row, delete the measured ones.</summary>
static async Task<int> RunLevelsAsync(Options o, IMappingLoad load, string title)
{
    int[] levels = [.. o.Get("levels", "100,1000,10000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
    int measure = int.Parse(o.Get("measure", "5000"), CultureInfo.InvariantCulture);
    int? pid = o.Has("pid") ? int.Parse(o.Get("pid"), CultureInfo.InvariantCulture) : null;
    double fillLimit = double.Parse(o.Get("fill-limit", "1e9"), CultureInfo.InvariantCulture);
    Console.WriteLine($"{title}; each level: fill to the level, then {measure} measured maps of new ports, then delete them");
    Console.WriteLine("| live leases | measured requests | requests/s | p50 ms | p99 ms | max ms | errors | lost | daemon RSS MB |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    foreach (int level in levels)
    {
        // Fill in steps of at most 1,000 so that a gateway too slow to reach the level in time is reported as such.
        var fill = Stopwatch.StartNew();
        int filled = 0;
        while (level > load.Mapped && fill.Elapsed.TotalSeconds < fillLimit)
        {
            int step = Math.Min(level - load.Mapped, 1000);
            await load.MapAsync(step, 3600);
            filled += step;
        }

        if (level > load.Mapped)
        {
            double rate = filled / fill.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {level:N0}: fill stopped at {load.Mapped:N0} after {fill.Elapsed.TotalSeconds:F0} s | {filled:N0} | {rate:N0} | - | - | - | {load.Errors} | {load.Lost} | - |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"#result level={level} reached={load.Mapped} rate={rate:F0} p50=- p99=- errors={load.Errors} lost={load.Lost}"));
            break;
        }

        // Measured maps, in steps of at most 500, also stopped after the fill limit (a slow gateway is reported
        // with the requests it answered in that time).
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        int measured = 0;
        while (measured < measure && (measured == 0 || clock.Elapsed.TotalSeconds < fillLimit))
        {
            int step = Math.Min(measure - measured, 500);
            latencies.AddRange((await load.MapAsync(step, 3600)).Latencies);
            measured += step;
        }

        double seconds = clock.Elapsed.TotalSeconds;
        latencies.Sort();
        string rss = pid is { } p ? RssMegabytes(p) : "-";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {level:N0}-{level + measured:N0} | {latencies.Count:N0} | {latencies.Count / seconds:N0} | {PortControlLoad.Percentile(latencies, 50):F2} | {PortControlLoad.Percentile(latencies, 99):F2} | {latencies.LastOrDefault():F2} | {load.Errors} | {load.Lost} | {rss} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"#result level={level} reached={load.Mapped} rate={latencies.Count / seconds:F0} p50={PortControlLoad.Percentile(latencies, 50):F3} p99={PortControlLoad.Percentile(latencies, 99):F3} errors={load.Errors} lost={load.Lost}"));
        await load.DeleteLastAsync(measured);
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
