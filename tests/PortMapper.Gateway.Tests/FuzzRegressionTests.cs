using PortMapper.Fuzz;

namespace PortMapper.Gateway.Tests;

/// <summary>
/// Every seed and every input a fuzzer once broke the daemon with (conformance/fuzz/regressions/TARGET) goes
/// through its fuzz target, with the target's invariants, on every test run.
/// </summary>
public class FuzzRegressionTests
{
    private static readonly string s_fuzzDirectory = FindFuzzDirectory();

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (string kind in (string[])["seeds", "regressions"])
        {
            foreach (FuzzTarget target in FuzzTargets.All)
            {
                string directory = Path.Combine(s_fuzzDirectory, kind, target.Name);
                if (!Directory.Exists(directory))
                {
                    continue;
                }

                foreach (string file in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
                {
                    data.Add(target.Name, Path.GetRelativePath(s_fuzzDirectory, file));
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Input_GoesThroughItsTarget(string target, string file) =>
        FuzzTargets.Find(target)!.Run(File.ReadAllBytes(Path.Combine(s_fuzzDirectory, file)));

    [Fact]
    public void EveryTarget_HasSeeds()
    {
        foreach (FuzzTarget target in FuzzTargets.All)
        {
            string seeds = Path.Combine(s_fuzzDirectory, "seeds", target.Name);
            Assert.True(Directory.Exists(seeds) && Directory.EnumerateFiles(seeds).Any(), $"no seeds for {target.Name}");
        }
    }

    private static string FindFuzzDirectory()
    {
        for (string? directory = AppContext.BaseDirectory; directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (File.Exists(Path.Combine(directory, "PortMapper.sln")))
            {
                return Path.Combine(directory, "conformance", "fuzz");
            }
        }

        throw new InvalidOperationException("the repository is not above the test assembly");
    }
}
