using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// Type=notify: started as systemd starts a service (its parent process named "systemd", NOTIFY_SOCKET set), the
/// daemon says READY=1 once every listener is up, and STOPPING=1 on SIGTERM.
/// </summary>
public class SystemdNotifyTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public SystemdNotifyTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task UnderSystemd_NotifiesReadyAfterTheListeners_AndStopping()
    {
        string dir = Path.Combine(Path.GetTempPath(), _lab.Prefix + "notify");
        Directory.CreateDirectory(dir);
        string socketPath = Path.Combine(dir, "notify.sock");

        // What systemd would be: a parent process whose name is "systemd" (a copy of bash), and a notify socket.
        string systemd = Path.Combine(dir, "systemd");
        File.Copy("/bin/bash", systemd);
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(socketPath));

        await _lab.Daemon!.StopAsync();
        var start = new ProcessStartInfo(systemd) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("ip netns exec \"$NS\" \"$BIN\" run --state-dir \"$STATE\" --config \"$CONFIG\" & wait $!; echo exited $?");
        start.Environment["NOTIFY_SOCKET"] = socketPath;
        start.Environment["NS"] = _lab.Gw;
        start.Environment["BIN"] = Repository.DaemonPath;
        start.Environment["STATE"] = _lab.StateDirectory;
        start.Environment["CONFIG"] = _lab.ConfigPath;
        using Process parent = Process.Start(start)!;
        try
        {
            string ready = await ReceiveAsync(notify, TimeSpan.FromSeconds(20));
            Assert.Contains("READY=1", ready, StringComparison.Ordinal);

            // Ready means ready: NAT-PMP answers at once.
            Assert.NotNull(await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, [0, 0]));

            await Shell.RunAsync("pkill", ["-TERM", "-f", $"run --state-dir {_lab.StateDirectory} --config"]);
            string stopping = await ReceiveAsync(notify, TimeSpan.FromSeconds(10));
            Assert.Contains("STOPPING=1", stopping, StringComparison.Ordinal);
            await parent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Contains("exited 0", await parent.StandardOutput.ReadToEndAsync(), StringComparison.Ordinal);
        }
        finally
        {
            if (!parent.HasExited)
            {
                parent.Kill(entireProcessTree: true);
            }

            Directory.Delete(dir, recursive: true);
            await _lab.Daemon.StartAsync();
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        byte[] buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }
}
