using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// A few seconds of coverage-guided fuzzing per target (conformance/fuzz/fuzz.sh all): afl++ drives the
/// SharpFuzz-instrumented daemon assemblies through every target, each one runs many inputs, and none breaks an
/// invariant, throws or hangs. The long runs are for the notes; this keeps the harness and every target working.
/// </summary>
public partial class FuzzSmokeTests
{
    [Fact]
    public async Task EveryTarget_RunsThousandsOfInputsWithoutACrash()
    {
        string script = Path.Combine(Repository.Root, "conformance", "fuzz", "fuzz.sh");
        ProcessResult list = await Shell.RunAsync("bash", [script, "list"], TimeSpan.FromMinutes(5));
        Assert.True(list.ExitCode == 0, list.ToString());
        string[] targets = [.. list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0])];
        Assert.True(targets.Length >= 12, list.Output);

        ProcessResult run = await Shell.RunAsync("bash", [script, "all", "4"], TimeSpan.FromMinutes(10));
        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (string target in targets)
        {
            Match line = Stats().Match(run.Output.Split('\n').Single(l => l.StartsWith(target + " execs=", StringComparison.Ordinal)));
            Assert.True(line.Success, run.Output);
            Assert.True(long.Parse(line.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1000, $"{target}: too few executions\n{run.Output}");
            Assert.Equal("0", line.Groups[2].Value);
        }

        Assert.Matches(@"(?m)^execs=[0-9]+ crashes=0$", run.Output.TrimEnd().Split('\n')[^1]);
    }

    [GeneratedRegex(@"execs=([0-9]+) crashes=([0-9]+)$")]
    private static partial Regex Stats();
}
