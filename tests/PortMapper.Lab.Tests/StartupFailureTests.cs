using System.Net;
using System.Net.Sockets;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A daemon that cannot do its job says why and exits non-zero, so a supervisor sees the failure.</summary>
public sealed class StartupFailureTests : IAsyncLifetime
{
    private readonly string _prefix = $"plsf{Environment.ProcessId % 10000}-";
    private readonly string _state = Path.Combine(Path.GetTempPath(), $"plsf{Environment.ProcessId % 10000}-state");

    public async Task InitializeAsync() => await Shell.RunAsync("bash", [Repository.LabScript, "up", _prefix]);

    public async Task DisposeAsync()
    {
        await Shell.RunAsync("bash", [Repository.LabScript, "down", _prefix]);
        if (Directory.Exists(_state))
        {
            Directory.Delete(_state, recursive: true);
        }
    }

    [Fact]
    public async Task NatPmpPortTaken_ExitsWith1()
    {
        using Socket squatter = GatewayLab.Udp(_prefix + "gw", 5351, GatewayLab.GatewayLan);
        ProcessResult r = await Shell.InNamespaceAsync(_prefix + "gw", Repository.DaemonPath, "run", "--state-dir", _state);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("Address already in use", r.Output + r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutNetAdmin_ExitsWith1_AndSaysWhy()
    {
        ProcessResult r = await Shell.InNamespaceAsync(_prefix + "gw", "capsh", "--drop=cap_net_admin", "--", "-c",
            $"{Repository.DaemonPath} run --state-dir {_state}");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("is this root, or CAP_NET_ADMIN?", r.Output + r.Error, StringComparison.Ordinal);
        Assert.Null(await GatewayLab.NatPmpExchangeAsync(_prefix + "lan1", GatewayLab.GatewayLan, [0, 0], TimeSpan.FromMilliseconds(300)));
    }
}
