using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

public class ConfigurationTests
{
    [Fact]
    public async Task BadConfiguration_ExitsWith2_ListsEveryError_TouchesNoKernel()
    {
        string ns = $"plcfg{Environment.ProcessId % 10000}";
        string config = Path.Combine(Path.GetTempPath(), ns + ".json");
        await File.WriteAllTextAsync(config, """
            { "wan": "nosuch0", "maxLifetime": 5, "typo": 1,
              "rules": [ { "action": "allow", "externalPorts": "9000-8000", "internalAddress": "10.0.0.1/8" } ] }
            """);
        await Shell.RunAsync("ip", ["netns", "add", ns]);
        try
        {
            ProcessResult r = await Shell.InNamespaceAsync(ns, Repository.DaemonPath, "run", "--config", config, "--lan", "nolan0", "--state-dir", "/tmp/" + ns);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("wan: interface 'nosuch0' does not exist", r.Error, StringComparison.Ordinal);
            Assert.Contains("lan: interface 'nolan0' does not exist", r.Error, StringComparison.Ordinal);
            Assert.Contains("maxLifetime:", r.Error, StringComparison.Ordinal);
            Assert.Contains("typo: unknown key", r.Error, StringComparison.Ordinal);
            Assert.Contains("port range '9000-8000' is reversed", r.Error, StringComparison.Ordinal);
            Assert.Contains("'10.0.0.1/8' is not an address prefix", r.Error, StringComparison.Ordinal);
            Assert.Contains("6 error(s)", r.Error, StringComparison.Ordinal);
            Assert.Equal(string.Empty, (await Shell.CheckedAsync(ns, "nft", "list", "ruleset")).Output.Trim());
            Assert.False(Directory.Exists("/tmp/" + ns));
        }
        finally
        {
            await Shell.RunAsync("ip", ["netns", "del", ns]);
            File.Delete(config);
        }
    }

    [Fact]
    public async Task UnknownFlag_ExitsWith2()
    {
        ProcessResult r = await Shell.RunAsync(Repository.DaemonPath, ["run", "--wan-interface", "eth0"]);
        Assert.Equal(2, r.ExitCode);
    }
}
