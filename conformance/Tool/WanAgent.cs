using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PortMapper.Conformance.Tool;

/// <summary>
/// <c>pm-conformance wan-agent</c>: runs on a host beyond the gateway's WAN side and sends what the suite asks for,
/// one line per command, one line per answer:
/// <c>udp ADDR PORT TEXT</c> (a datagram), <c>tcp ADDR PORT TEXT</c> (connect, send, "ok" or "fail WHY"),
/// <c>source ADDR</c> (this host's address towards ADDR). Over TCP (<c>--listen</c>) or stdin/stdout (<c>--stdio</c>, for ssh).
/// </summary>
internal static class WanAgent
{
    public const int DefaultPort = 5399;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Contains("--stdio"))
        {
            await ServeAsync(Console.In, Console.Out);
            return 0;
        }

        IPEndPoint listen = new(IPAddress.Any, DefaultPort);
        int at = Array.IndexOf(args, "--listen");
        if (at >= 0 && (at + 1 >= args.Length || !IPEndPoint.TryParse(args[at + 1], out listen!)))
        {
            Console.Error.WriteLine("pm-conformance wan-agent: --listen ADDR:PORT");
            return 2;
        }

        var listener = new TcpListener(listen);
        listener.Start();
        Console.WriteLine($"wan-agent listening on {listener.LocalEndpoint}");
        while (true)
        {
            TcpClient client = await listener.AcceptTcpClientAsync();
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    NetworkStream stream = client.GetStream();
                    using var reader = new StreamReader(stream, Encoding.UTF8);
                    using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
                    await ServeAsync(reader, writer);
                }
            });
        }
    }

    private static async Task ServeAsync(TextReader input, TextWriter output)
    {
        while (await input.ReadLineAsync() is { } line)
        {
            string[] words = line.Split(' ', 4);
            string answer;
            try
            {
                answer = words switch
                {
                    ["udp", var address, var port, var text] => await UdpAsync(IPAddress.Parse(address), int.Parse(port, CultureInfo.InvariantCulture), text),
                    ["tcp", var address, var port, var text] => await TcpAsync(IPAddress.Parse(address), int.Parse(port, CultureInfo.InvariantCulture), text),
                    ["source", var address] => Source(IPAddress.Parse(address)).ToString(),
                    _ => "fail unknown command",
                };
            }
            catch (Exception e) when (e is FormatException or SocketException or ArgumentException)
            {
                answer = "fail " + e.Message.ReplaceLineEndings(" ");
            }

            await output.WriteLineAsync(answer);
            await output.FlushAsync();
        }
    }

    private static async Task<string> UdpAsync(IPAddress address, int port, string text)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.SendToAsync(Encoding.UTF8.GetBytes(text), SocketFlags.None, new IPEndPoint(address, port));
        return "ok";
    }

    private static async Task<string> TcpAsync(IPAddress address, int port, string text)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, port), cts.Token);
            await socket.SendAsync(Encoding.UTF8.GetBytes(text), SocketFlags.None, cts.Token);
            socket.Shutdown(SocketShutdown.Send);
            return "ok";
        }
        catch (OperationCanceledException)
        {
            return "fail timeout";
        }
        catch (SocketException e)
        {
            return "fail " + e.SocketErrorCode;
        }
    }

    private static IPAddress Source(IPAddress toward)
    {
        using var socket = new Socket(toward.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(new IPEndPoint(toward, 9));
        return ((IPEndPoint)socket.LocalEndPoint!).Address;
    }
}

/// <summary>The suite's side of a WAN helper: agent:HOST:PORT, ssh:HOST or exec:COMMAND.</summary>
internal sealed class WanHelper : IAsyncDisposable
{
    private readonly TextReader _reader;
    private readonly TextWriter _writer;
    private readonly IDisposable _owner;
    private readonly SemaphoreSlim _lock = new(1, 1);

    private WanHelper(TextReader reader, TextWriter writer, IDisposable owner)
    {
        _reader = reader;
        _writer = writer;
        _owner = owner;
    }

    public static async Task<WanHelper> ConnectAsync(string spec)
    {
        if (spec.StartsWith("agent:", StringComparison.Ordinal))
        {
            string target = spec["agent:".Length..];
            if (!IPEndPoint.TryParse(target, out IPEndPoint? endpoint))
            {
                throw new ArgumentException($"agent:HOST:PORT, not '{spec}'");
            }

            if (endpoint.Port == 0)
            {
                endpoint.Port = WanAgent.DefaultPort;
            }

            var client = new TcpClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.ConnectAsync(endpoint, cts.Token);
            NetworkStream stream = client.GetStream();
            return new WanHelper(new StreamReader(stream, Encoding.UTF8), new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" }, client);
        }

        string command = spec.StartsWith("ssh:", StringComparison.Ordinal) ? $"ssh -o BatchMode=yes {spec[4..]} pm-conformance wan-agent --stdio"
            : spec.StartsWith("exec:", StringComparison.Ordinal) ? spec[5..]
            : throw new ArgumentException($"--wan-helper agent:HOST:PORT, ssh:HOST or exec:COMMAND, not '{spec}'");
        var start = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        Process process = Process.Start(start) ?? throw new InvalidOperationException("cannot start " + command);
        process.StandardInput.AutoFlush = true;
        process.StandardInput.NewLine = "\n";
        return new WanHelper(process.StandardOutput, process.StandardInput, process);
    }

    public async Task<string> AskAsync(string line)
    {
        await _lock.WaitAsync();
        try
        {
            await _writer.WriteLineAsync(line);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await _reader.ReadLineAsync(cts.Token) ?? "fail the helper closed";
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _writer.DisposeAsync();
        }
        catch (IOException)
        {
        }

        if (_owner is Process process && !process.WaitForExit(2000))
        {
            process.Kill();
        }

        _owner.Dispose();
    }
}
