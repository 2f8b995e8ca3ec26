using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace PortMapper.Lab.Tests.Infrastructure;

/// <summary>
/// The double-NAT lab (<c>lab.sh chain</c>): an Internet host, an ISP gateway doing NAT from 100.64.0.0/24 to
/// 203.0.113.1, the gateway under test (WAN 100.64.0.2, LAN 192.168.77.1) and a LAN host. The ISP gateway runs a
/// second PortMapper, or Debian's miniupnpd (<see cref="MiniupnpdChainLab"/>).
/// </summary>
public class ChainLab : IAsyncLifetime
{
    public static readonly IPAddress IspGateway = IPAddress.Parse("100.64.0.1");
    public static readonly IPAddress GatewayWan = IPAddress.Parse("100.64.0.2");

    private static int s_counter;
    private Process? _miniupnpd;
    private readonly StringBuilder _miniupnpdLog = new();

    public ChainLab()
    {
        Prefix = string.Create(CultureInfo.InvariantCulture, $"pc{Environment.ProcessId % 10000}x{Interlocked.Increment(ref s_counter)}-");
        Work = Path.Combine(Path.GetTempPath(), "portmapper-chain-" + Prefix.TrimEnd('-'));
    }

    public string Prefix { get; }

    public string Inet => Prefix + "inet";

    public string Isp => Prefix + "isp";

    public string Gw => Prefix + "gw";

    public string Lan1 => Prefix + "lan1";

    public string Work { get; }

    public string IspState => Path.Combine(Work, "isp");

    /// <summary>The address the ISP gateway says the Internet sees (miniupnpd will not serve a documentation address).</summary>
    public virtual IPAddress Public => IPAddress.Parse("203.0.113.1");

    /// <summary>The gateway under test's configuration.</summary>
    protected virtual string GatewayConfig => "{}";

    /// <summary>Whether the gateway under test is expected to carry its mappings upstream.</summary>
    protected virtual bool Carries => true;

    protected virtual bool IspIsMiniupnpd => false;

    /// <summary>Whether the ISP's miniupnpd serves NAT-PMP and PCP (else UPnP IGD only).</summary>
    protected virtual bool IspNatPmp => true;

    internal Daemon? Gateway { get; private set; }

    internal Daemon? IspDaemon { get; private set; }

    public async Task InitializeAsync()
    {
        ProcessResult up = await Shell.RunAsync("bash", [Repository.LabScript, "chain", Prefix]);
        if (up.ExitCode != 0)
        {
            throw new InvalidOperationException("lab.sh chain failed: " + up);
        }

        if (Directory.Exists(Work))
        {
            Directory.Delete(Work, recursive: true);
        }

        Directory.CreateDirectory(Work);
        await BeforeIspAsync();
        await StartIspAsync();
        string config = Path.Combine(Work, "gw.json");
        await File.WriteAllTextAsync(config, GatewayConfig);
        Gateway = new Daemon(Gw, Path.Combine(Work, "gw"), ["--wan", "wan0", "--lan", "br-lan", "--config", config]);
        await Gateway.StartAsync();
        if (Carries)
        {
            await Gateway.WaitForLogAsync("mappings are carried through to it", TimeSpan.FromSeconds(15));
        }
    }

    /// <summary>What a lab adds to the ISP's side before its daemon starts.</summary>
    protected virtual Task BeforeIspAsync() => Task.CompletedTask;

    /// <summary>What a lab started beside the daemons, stopped before the namespaces go.</summary>
    protected virtual Task StopExtrasAsync() => Task.CompletedTask;

    /// <summary>Starts the ISP gateway's daemon; <paramref name="wipe"/> forgets every mapping it held.</summary>
    public async Task StartIspAsync(bool wipe = false)
    {
        if (IspIsMiniupnpd)
        {
            await StartMiniupnpdAsync(wipe);
            return;
        }

        if (wipe && Directory.Exists(IspState))
        {
            Directory.Delete(IspState, recursive: true);
        }

        string config = Path.Combine(Work, "isp.json");
        // Port 8099 is the ISP's own: asked for it, the carrier's server gives another.
        await File.WriteAllTextAsync(config, """{ "upstream": { "mode": "off" }, "reservedPorts": [ 8099 ] }""");
        IspDaemon = new Daemon(Isp, IspState, ["--wan", "wan0", "--lan", "isp0", "--config", config]);
        await IspDaemon.StartAsync();
    }

    public async Task StopIspAsync()
    {
        if (IspDaemon is not null)
        {
            await IspDaemon.StopAsync();
            IspDaemon.Dispose();
            IspDaemon = null;
        }

        if (_miniupnpd is { HasExited: false } p)
        {
            p.Kill();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>What the ISP gateway maps: its lease list (PortMapper) or its DNAT rules (miniupnpd).</summary>
    public async Task<string> IspMappingsAsync() => IspIsMiniupnpd
        ? (await Shell.InNamespaceAsync(Isp, "nft", "list", "chain", "inet", "filter", "prerouting_miniupnpd")).Output
        : (await Shell.InNamespaceAsync(Isp, Repository.DaemonPath, "leases", "--state-dir", IspState)).Output;

    /// <summary>Polls the ISP's mappings until <paramref name="expected"/> holds, or the timeout.</summary>
    public async Task<string> WaitForIspAsync(Func<string, bool> expected, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string mappings = await IspMappingsAsync();
        while (!expected(mappings) && clock.Elapsed < timeout)
        {
            await Task.Delay(100);
            mappings = await IspMappingsAsync();
        }

        return mappings;
    }

    /// <summary>
    /// Waits until the ISP gateway's epoch (its NAT-PMP answer, asked from the gateway's namespace) has reached
    /// <paramref name="seconds"/>: only then does a restart that forgets everything show as an epoch going back.
    /// </summary>
    public async Task WaitForIspEpochAsync(uint seconds)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds + 10))
        {
            byte[]? answer = await GatewayLab.NatPmpExchangeAsync(Gw, IspGateway, [0, 0]);
            if (answer is { Length: >= 8 } && System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(answer.AsSpan(4)) >= seconds)
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"the ISP gateway's epoch did not reach {seconds} s");
    }

    internal async Task<ProcessResult> NatPmpcAsync(params string[] args) =>
        await Shell.InNamespaceAsync(Lan1, ["natpmpc", "-g", "192.168.77.1", .. args]);

    private async Task StartMiniupnpdAsync(bool wipe)
    {
        string leases = Path.Combine(Work, "miniupnpd.leases");
        if (wipe)
        {
            File.Delete(leases);
        }

        // The tables its nftables backend expects (conformance/lab/miniupnpd.nft), and its configuration: the
        // ISP's LAN, NAT-PMP and PCP, the carrier's clients allowed, its epoch its own (not the system's uptime).
        await Shell.InNamespaceAsync(Isp, "nft", "delete", "table", "inet", "filter");
        await Shell.CheckedAsync(Isp, "nft", "-f", Path.Combine(Repository.Root, "conformance", "lab", "miniupnpd.nft"));
        string config = Path.Combine(Work, "miniupnpd.conf");
        await File.WriteAllTextAsync(config, $"""
            ext_ifname=wan0
            ext_ip={Public}
            listening_ip=isp0
            http_port=5000
            enable_natpmp={(IspNatPmp ? "yes" : "no")}
            enable_upnp=yes
            secure_mode=yes
            system_uptime=no
            lease_file={leases}
            uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07f
            allow 1024-65535 100.64.0.0/24 1024-65535
            deny 0-65535 0.0.0.0/0 0-65535

            """);
        lock (_miniupnpdLog)
        {
            _miniupnpdLog.Clear();
        }

        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["netns", "exec", Isp, "/usr/sbin/miniupnpd", "-d", "-f", config, "-P", Path.Combine(Work, "miniupnpd.pid")])
        {
            start.ArgumentList.Add(arg);
        }

        _miniupnpd = Process.Start(start) ?? throw new InvalidOperationException("cannot start miniupnpd");
        _miniupnpd.OutputDataReceived += (_, e) => AppendMiniupnpd(e.Data);
        _miniupnpd.ErrorDataReceived += (_, e) => AppendMiniupnpd(e.Data);
        _miniupnpd.BeginOutputReadLine();
        _miniupnpd.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (!MiniupnpdLog.Contains(IspNatPmp ? "Listening for NAT-PMP/PCP traffic" : "HTTP listening on port", StringComparison.Ordinal))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10) || _miniupnpd.HasExited)
            {
                throw new TimeoutException("miniupnpd did not start:\n" + MiniupnpdLog);
            }

            await Task.Delay(25);
        }
    }

    public string MiniupnpdLog
    {
        get
        {
            lock (_miniupnpdLog)
            {
                return _miniupnpdLog.ToString();
            }
        }
    }

    private void AppendMiniupnpd(string? line)
    {
        if (line is not null)
        {
            lock (_miniupnpdLog)
            {
                _miniupnpdLog.AppendLine(line);
            }
        }
    }

    public async Task DisposeAsync()
    {
        Gateway?.Dispose();
        await StopIspAsync();
        _miniupnpd?.Dispose();
        await StopExtrasAsync();
        await Shell.RunAsync("bash", [Repository.LabScript, "down", Prefix]);
        if (Directory.Exists(Work))
        {
            Directory.Delete(Work, recursive: true);
        }
    }
}

/// <summary>The chain with Debian's miniupnpd as the ISP's gateway, told 11.1.1.1 as its public address.</summary>
public sealed class MiniupnpdChainLab : ChainLab
{
    public override IPAddress Public => IPAddress.Parse("11.1.1.1");

    protected override bool IspIsMiniupnpd => true;
}

/// <summary>The chain with miniupnpd serving UPnP IGD only: the gateway under test, in <c>auto</c>, falls through to it.</summary>
public sealed class MiniupnpdUpnpChainLab : ChainLab
{
    public override IPAddress Public => IPAddress.Parse("11.1.1.1");

    protected override bool IspIsMiniupnpd => true;

    protected override bool IspNatPmp => false;
}

/// <summary>The chain with <c>upstream.mode: off</c> on the gateway under test.</summary>
public sealed class ChainOffLab : ChainLab
{
    protected override string GatewayConfig => """{ "upstream": { "mode": "off" } }""";

    protected override bool Carries => false;
}

/// <summary>
/// The chain where the WAN's DHCP lease names the ISP's PCP server (RFC 7291 option 158): the ISP's second address
/// 100.64.0.5, not its default gateway. dnsmasq serves DHCP on the ISP side; ISC dhclient on the gateway's WAN asks
/// for option 158 and keeps it in its lease file (its script does nothing: the WAN keeps its address).
/// </summary>
public sealed class ChainDhcpLab : ChainLab
{
    public static readonly IPAddress PcpServer = IPAddress.Parse("100.64.0.5");

    private string DhclientLeases => Path.Combine(Work, "dhclient.wan0.leases");

    protected override string GatewayConfig => $$"""{ "upstream": { "dhcpLeases": [ "{{DhclientLeases}}" ] } }""";

    protected override async Task BeforeIspAsync()
    {
        await Shell.CheckedAsync(Isp, "ip", "addr", "add", PcpServer + "/24", "dev", "isp0");
        string mac = (await Shell.CheckedAsync(Gw, "cat", "/sys/class/net/wan0/address")).Output.Trim();
        string dnsmasq = Path.Combine(Work, "dnsmasq.conf");
        await File.WriteAllTextAsync(dnsmasq, $"""
            port=0
            interface=isp0
            bind-interfaces
            no-ping
            dhcp-range=100.64.0.0,static,255.255.255.0,1h
            dhcp-host={mac},{GatewayWan}
            dhcp-option=3,{IspGateway}
            dhcp-option=158,04:{string.Join(':', PcpServer.GetAddressBytes().Select(b => b.ToString("x2", CultureInfo.InvariantCulture)))}
            dhcp-leasefile={Path.Combine(Work, "dnsmasq.leases")}
            pid-file={Path.Combine(Work, "dnsmasq.pid")}

            """);
        await Shell.CheckedAsync(Isp, "dnsmasq", "-C", dnsmasq);

        string noop = Path.Combine(Work, "dhclient-script");
        await File.WriteAllTextAsync(noop, "#!/bin/sh\nexit 0\n");
        File.SetUnixFileMode(noop, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string config = Path.Combine(Work, "dhclient.conf");
        await File.WriteAllTextAsync(config, "option pcp-server code 158 = string;\nalso request pcp-server;\n");
        await Shell.CheckedAsync(Gw, "dhclient", "-1", "-cf", config, "-sf", noop, "-lf", DhclientLeases, "-pf", Path.Combine(Work, "dhclient.pid"), "wan0");
    }

    protected override async Task StopExtrasAsync()
    {
        foreach (string pidFile in (string[])["dhclient.pid", "dnsmasq.pid"])
        {
            string path = Path.Combine(Work, pidFile);
            if (File.Exists(path) && int.TryParse((await File.ReadAllTextAsync(path)).Trim(), out int pid))
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (ArgumentException)
                {
                    // gone already
                }
            }
        }
    }
}
