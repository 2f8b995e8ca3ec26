using System.Diagnostics;
using System.Net.Sockets;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>What survives: restarts, kill -9, a dead daemon, and a firewall reload.</summary>
public class RestartAndReconcileTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public RestartAndReconcileTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task Restart_ForwardingContinuesWhileStopped_AndTheLeaseIsKept()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 6100, "kept");
        NatPmpcResult before = await _lab.NatPmpcAsync(_lab.Lan1, 6100, 6100, "tcp", 3600);
        Assert.Equal(6100, before.PublicPort);

        await _lab.Daemon!.StopAsync();
        Assert.Equal(0, _lab.Daemon.ExitCode);
        Assert.Equal("kept", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 6100));

        await Task.Delay(1100);
        await _lab.Daemon.StartAsync();
        Assert.Contains("Restored ", _lab.Daemon.Log, StringComparison.Ordinal);
        Assert.Equal("kept", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 6100));

        // A renewal after the restart keeps the port, and the epoch has gone on rather than back.
        NatPmpcResult after = await _lab.NatPmpcAsync(_lab.Lan1, 6100, 6100, "tcp", 3600);
        Assert.Equal(6100, after.PublicPort);
        Assert.True(after.Epoch > before.Epoch, $"epoch {before.Epoch} then {after.Epoch}");
    }

    [Fact]
    public async Task CleanRestart_TakesTheTableOverAsLeft_UnlessTheRulesetChangedMeanwhile()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 6150, "taken-over");
        Assert.Equal(6150, (await _lab.NatPmpcAsync(_lab.Lan1, 6150, 6150, "tcp", 3600)).PublicPort);

        // Nothing touched the ruleset while stopped: the table is taken over, not rebuilt, and works as before.
        await _lab.Daemon!.StopAsync();
        await _lab.Daemon.StartAsync();
        Assert.Contains("kernel table taken over as left", _lab.Daemon.Log, StringComparison.Ordinal);
        Assert.Contains("tcp . 6150 ", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        Assert.Equal("taken-over", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 6150));
        Assert.Equal(6151, (await _lab.NatPmpcAsync(_lab.Lan1, 6151, 6151, "udp", 3600)).PublicPort);
        Assert.Contains("udp . 6151 ", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        await _lab.NatPmpcAsync(_lab.Lan1, 6151, 6151, "udp", 0);
        Assert.DoesNotContain("udp . 6151 ", await _lab.KernelTableAsync(), StringComparison.Ordinal);

        // Another program committed to the ruleset while stopped (our table untouched): rebuilt all the same.
        await _lab.Daemon.StopAsync();
        await Shell.CheckedAsync(_lab.Gw, "nft", "add", "table", "inet", "someone_else");
        await Shell.CheckedAsync(_lab.Gw, "nft", "delete", "table", "inet", "someone_else");
        await _lab.Daemon.StartAsync();
        Assert.Contains("the ruleset changed since the stop", _lab.Daemon.Log, StringComparison.Ordinal);
        Assert.Contains("kernel table rebuilt", _lab.Daemon.Log, StringComparison.Ordinal);
        Assert.Contains("tcp . 6150 ", await _lab.KernelTableAsync(), StringComparison.Ordinal);

        // A flush while stopped, and a crash (no stamp left): the table is rebuilt with the lease.
        await _lab.Daemon.StopAsync();
        await Shell.CheckedAsync(_lab.Gw, "nft", "flush", "ruleset");
        await _lab.Daemon.StartAsync();
        Assert.Contains("kernel table rebuilt", _lab.Daemon.Log, StringComparison.Ordinal);
        Assert.Equal("taken-over", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 6150));
        await _lab.Daemon.KillAsync();
        await _lab.Daemon.StartAsync();
        Assert.Contains("kernel table rebuilt", _lab.Daemon.Log, StringComparison.Ordinal);
        Assert.Contains("tcp . 6150 ", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kill9_RightAfterAcknowledgements_LosesNoLease()
    {
        var ports = Enumerable.Range(6200, 20).ToList();
        foreach (int port in ports)
        {
            Assert.Equal(port, (await _lab.NatPmpcAsync(_lab.Lan2, port, port, "udp", 3600)).PublicPort);
        }

        await _lab.Daemon!.KillAsync();
        await _lab.Daemon.StartAsync();

        string kernel = await _lab.KernelTableAsync();
        foreach (int port in ports)
        {
            Assert.Contains($"udp . {port} ", kernel, StringComparison.Ordinal);
        }

        // The table has them too: the same client's request for internal port 6210 renews the same port.
        Assert.Equal(6210, (await _lab.NatPmpcAsync(_lab.Lan2, 6999, 6210, "udp", 3600)).PublicPort);
    }

    [Fact]
    public async Task DaemonDead_KernelStillExpiresTheMappingOnTime()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan2, 6300, "brief");
        Assert.Equal(6300, (await _lab.NatPmpcAsync(_lab.Lan2, 6300, 6300, "tcp", 2)).PublicPort);
        await _lab.Daemon!.KillAsync();
        try
        {
            Assert.Equal("brief", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 6300));
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 6300));
            Assert.DoesNotContain("tcp . 6300", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await _lab.Daemon.StartAsync();
        }

        // Expired while the daemon was down: not restored.
        Assert.Contains("had expired while stopped", _lab.Daemon.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("tcp . 6300", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlushRuleset_TableIsReinstalledWithinOneSecond()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 6400, "back");
        Assert.Equal(6400, (await _lab.NatPmpcAsync(_lab.Lan1, 6400, 6400, "tcp", 3600)).PublicPort);

        await Shell.CheckedAsync(_lab.Gw, "nft", "flush", "ruleset");
        var clock = Stopwatch.StartNew();
        while (!(await _lab.KernelTableAsync()).Contains("tcp . 6400", StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "table not back within 1 s");
            await Task.Delay(20);
        }

        // The lab's own masquerade table went with the flush; the mapping itself needs only the daemon's table.
        Assert.Equal("back", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 6400));
        await _lab.Daemon!.WaitForLogAsync("was flushed or deleted", TimeSpan.FromSeconds(5));
    }
}
