using System.Diagnostics;
using System.Text.Json;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// pm-conformance, the suite anyone can point at a gateway, run from a LAN host of the lab against the daemon, with
/// a second LAN address for the two-client cases and its WAN agent on the Internet host: every case passes or skips
/// with a reason, the reports are well-formed, and nothing the suite made is left in the kernel.
/// </summary>
public class ConformanceToolTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public ConformanceToolTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private static string ToolPath => Path.Combine(Repository.Root, "conformance", "Tool", "bin", "Release", "net10.0", "pm-conformance.dll");

    [Fact]
    public async Task EveryCasePassesOrSkipsWithAReason_AndNothingIsLeftBehind()
    {
        await Shell.CheckedAsync(_lab.Lan1, "ip", "addr", "add", "192.168.77.12/24", "dev", "eth0");
        string report = Path.Combine(Path.GetTempPath(), _lab.Prefix + "conformance.json");
        string junit = Path.Combine(Path.GetTempPath(), _lab.Prefix + "conformance.xml");
        using Process agent = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", _lab.Wan, "dotnet", ToolPath, "wan-agent", "--listen", "203.0.113.2:5399"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            // The agent says when it listens: no fixed wait.
            string? first = await agent.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.StartsWith("wan-agent listening on", first, StringComparison.Ordinal);

            ProcessResult run = await Shell.RunAsync("ip",
                ["netns", "exec", _lab.Lan1, "dotnet", ToolPath, "--gateway", "192.168.77.1", "--gateway6", "2001:db8:77::1", "--also-client", "192.168.77.12",
                 "--wan-helper", "agent:203.0.113.2:5399", "--report", report, "--junit", junit], TimeSpan.FromMinutes(4));
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains("total: ", run.Output, StringComparison.Ordinal);

            using JsonDocument json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
            JsonElement root = json.RootElement;
            Assert.Equal(0, root.GetProperty("failed").GetInt32());
            Assert.True(root.GetProperty("passed").GetInt32() >= 75, run.Output);
            Assert.Empty(root.GetProperty("notUndone").EnumerateArray());
            JsonElement[] cases = [.. root.GetProperty("cases").EnumerateArray()];
            Assert.Equal(cases.Length, cases.Select(c => c.GetProperty("id").GetString()).Distinct().Count());
            foreach (string suite in new[] { "natpmp", "pcp", "upnp", "security", "dataplane" })
            {
                Assert.Contains(cases, c => c.GetProperty("suite").GetString() == suite && c.GetProperty("outcome").GetString() == "PASS");
            }

            foreach (JsonElement skipped in cases.Where(c => c.GetProperty("outcome").GetString() == "SKIP"))
            {
                Assert.False(string.IsNullOrWhiteSpace(skipped.GetProperty("reason").GetString()), skipped.GetProperty("id").GetString());
            }

            var junitXml = System.Xml.Linq.XDocument.Load(junit);
            Assert.Equal(cases.Length, junitXml.Descendants("testcase").Count());
            Assert.Empty(junitXml.Descendants("failure"));

            // Everything the suite mapped is gone: no element for its ports (41000-41199) in any map or set.
            string table = await _lab.KernelTableAsync();
            Assert.DoesNotMatch(@"\b41[01]\d\d\b", table);
            Assert.True(_lab.Daemon!.IsRunning);
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
            File.Delete(report);
            File.Delete(junit);
        }
    }

    [Fact]
    public async Task WanHelperOverStdio_AsSshRunsIt()
    {
        // ssh:HOST runs "pm-conformance wan-agent --stdio" there; exec: runs any such command, here in the WAN namespace.
        ProcessResult run = await Shell.RunAsync("ip",
            ["netns", "exec", _lab.Lan2, "dotnet", ToolPath, "--gateway", "192.168.77.1", "--ports", "43000", "--case", "dp-natpmp-udp,dp-natpmp-delete",
             "--wan-helper", $"exec:ip netns exec {_lab.Wan} dotnet {ToolPath} wan-agent --stdio"], TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("total: 2 passed, 0 failed, 0 skipped", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAWanHelper_DataplaneSkips_AndAFailureIsReported()
    {
        // Against an address where no gateway listens, a case that needs one fails, one that needs a WAN helper skips,
        // and the exit code says so: the tool does not pass what it could not check.
        ProcessResult run = await Shell.RunAsync("ip",
            ["netns", "exec", _lab.Lan2, "dotnet", ToolPath, "--gateway", "192.168.77.99", "--case", "rfc6886-3.2-external-address,dp-natpmp-udp"], TimeSpan.FromMinutes(1));
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("FAIL  rfc6886-3.2-external-address", run.Output, StringComparison.Ordinal);
        Assert.Contains("no WAN helper (--wan-helper)", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("PASS", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompareScript_PrintsBothColumnsAndTheTotals()
    {
        // The README's comparison table comes from this script: PortMapper and Debian's miniupnpd in one lab.
        // The tool as ./test built it (no second build racing the other tests' builds).
        string script = Path.Combine(Repository.Root, "conformance", "compare-conformance.sh");
        ProcessResult run = await Shell.RunAsync("bash", ["-c", $"PM_CONFORMANCE='dotnet {ToolPath}' bash {script}"], TimeSpan.FromMinutes(5));
        Assert.True(run.ExitCode == 0, run.ToString());
        string last = run.Output.Trim().Split('\n')[^1];
        Assert.Matches(@"^portmapper: \d+ passed, 0 failed, \d+ skipped; miniupnpd: \d+ passed, \d+ failed, \d+ skipped$", last);
        Assert.Contains("rfc6887-11.3-nonce-mismatch", run.Output, StringComparison.Ordinal);
    }
}
