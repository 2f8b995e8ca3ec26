using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// A short run of the side-by-side benchmark (conformance/bench/compare.sh --smoke): PortMapper and Debian's
/// miniupnpd each start in the lab, answer every NAT-PMP, PCP and UPnP request of the load, and the table has a
/// figure in both columns of every row. The full run is too long for the suite; this keeps the script working.
/// </summary>
public partial class CompareBenchmarkTests
{
    [Fact]
    public async Task Smoke_BothDaemonsAnswerEveryRow()
    {
        ProcessResult run = await Shell.RunAsync("bash", [Path.Combine(Repository.Root, "conformance", "bench", "compare.sh"), "--smoke"], TimeSpan.FromMinutes(5));
        Assert.True(run.ExitCode == 0, run.ToString());

        string[] rows = [.. run.Output.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal))];
        Assert.Contains(rows, r => r.Contains("| portmapper | miniupnpd |", StringComparison.Ordinal));
        foreach (string label in new[] { "NAT-PMP map", "PCP map", "NAT-PMP renewal", "UPnP AddPortMapping" })
        {
            string row = Assert.Single(rows, r => r.StartsWith("| " + label, StringComparison.Ordinal));
            Assert.Equal(2, Latency().Matches(row).Count);
        }

        foreach (string protocol in new[] { "natpmp", "pcp", "upnp" })
        {
            string row = Assert.Single(rows, r => r.StartsWith($"| {protocol} throughput", StringComparison.Ordinal));
            Assert.Equal(2, Rate().Matches(row).Count);
        }

        foreach (string label in new[] { "RSS idle", "VmHWM over the run" })
        {
            string row = Assert.Single(rows, r => r.StartsWith("| " + label, StringComparison.Ordinal));
            Assert.Equal(2, Megabytes().Matches(row).Count);
        }
    }

    [GeneratedRegex(@"\| [0-9.]+ / [0-9.]+ ms")]
    private static partial Regex Latency();

    [GeneratedRegex(@"\| [1-9][0-9]*/s")]
    private static partial Regex Rate();

    [GeneratedRegex(@"\| [1-9][0-9.]* MB")]
    private static partial Regex Megabytes();
}
