using System.Globalization;
using System.Net.Sockets;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A miniupnpd installation converted with import-miniupnpd, then run: its leases are reachable from the WAN.</summary>
public class ImportTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public ImportTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task ImportedConfigAndLeases_RunAndForward()
    {
        string dir = Path.Combine(Path.GetTempPath(), _lab.Prefix + "import");
        Directory.CreateDirectory(dir);
        string conf = Path.Combine(dir, "miniupnpd.conf"), leases = Path.Combine(dir, "upnp.leases"), config = Path.Combine(dir, "config.json"), state = Path.Combine(dir, "state");
        await File.WriteAllTextAsync(conf, "ext_ifname=wan0\nlistening_ip=192.168.77.1/24\nenable_natpmp=yes\nsecure_mode=yes\nallow 1024-65535 192.168.77.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n");
        long expires = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        await File.WriteAllTextAsync(leases, string.Create(CultureInfo.InvariantCulture, $"TCP:8800:192.168.77.10:8800:{expires}:imported game\n"));
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8800, "imported");
        await _lab.Daemon!.StopAsync();
        Daemon? converted = null;
        try
        {
            ProcessResult import = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "import-miniupnpd", conf, leases, "--output", config, "--state-dir", state);
            Assert.True(import.ExitCode == 0, import.ToString());
            Assert.Contains("listening_ip=192.168.77.1/24 -> lan br-lan", import.Error, StringComparison.Ordinal);
            Assert.Contains("leases: 1 of 1 imported", import.Error, StringComparison.Ordinal);
            Assert.Equal(0, (await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "check-config", config)).ExitCode);

            converted = new Daemon(_lab.Gw, state, ["--config", config]);
            await converted.StartAsync();
            Assert.Equal("imported", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 8800));
            Assert.Contains("imported game", (await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "leases", "--state-dir", state)).Output, StringComparison.Ordinal);
        }
        finally
        {
            if (converted is not null)
            {
                await converted.StopAsync();
                converted.Dispose();
            }

            Directory.Delete(dir, recursive: true);
            await _lab.Daemon.StartAsync();
        }
    }
}
