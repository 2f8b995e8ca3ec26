using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>SIGHUP re-reads the configuration without dropping a lease; a broken file is refused and the running configuration stays.</summary>
public class ReloadTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public ReloadTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private async Task ReloadAsync(string config, string expectLog)
    {
        int before = Count(_lab.Daemon!.Log, expectLog);
        await File.WriteAllTextAsync(_lab.ConfigPath, config);
        _lab.Daemon.Hangup();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Count(_lab.Daemon.Log, expectLog) == before && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(25);
        }

        Assert.True(Count(_lab.Daemon.Log, expectLog) > before, _lab.Daemon.Log);
    }

    private static int Count(string log, string text) => log.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));

    [Fact]
    public async Task Sighup_NewPolicyApplies_LeasesStay_BrokenConfigRefused()
    {
        Assert.Equal(9100, (await _lab.NatPmpcAsync(_lab.Lan1, 9100, 9100, "tcp", 3600)).PublicPort);

        await ReloadAsync("""
            { "rules": [ { "action": "deny", "externalPorts": "9200-9299" },
                         { "action": "allow", "internalAddress": "192.168.77.0/24", "externalPorts": "1024-65535", "internalPorts": "1024-65535" } ],
              "upnp": { "httpPort": 5001 } }
            """, "Reloaded the configuration");
        await _lab.Daemon!.WaitForLogAsync("take effect at the next restart: upnp", TimeSpan.FromSeconds(5));

        // The denied range is skipped from now on; the lease from before is still there, in the kernel too.
        Assert.Equal(9300, (await _lab.NatPmpcAsync(_lab.Lan1, 9250, 9250, "tcp", 3600)).PublicPort);
        Assert.Contains("tcp . 9100", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        Assert.Equal(9100, (await _lab.NatPmpcAsync(_lab.Lan1, 9100, 9100, "tcp", 3600)).PublicPort);

        await ReloadAsync("{ \"rules\": [ { \"action\": \"maybe\" } ] ", "Reload refused");
        Assert.True(_lab.Daemon.IsRunning);
        Assert.Equal(9301, (await _lab.NatPmpcAsync(_lab.Lan1, 9260, 9260, "tcp", 3600)).PublicPort);
        Assert.Contains("tcp . 9100", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }
}
