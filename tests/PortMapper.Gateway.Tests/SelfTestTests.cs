using PortMapper.Gateway.SelfTest;

namespace PortMapper.Gateway.Tests;

public class SelfTestTests
{
    [Fact]
    public void EveryBuiltInCasePasses_AndTheSummaryCountsThem()
    {
        var output = new StringWriter();
        int exit = ProtocolSelfTest.Run(output, verbose: false);

        int cases = ProtocolSelfTest.Cases().Count();
        Assert.True(exit == 0, output.ToString());
        Assert.Equal($"selftest: {cases} passed", output.ToString().Trim());
        Assert.True(cases >= 30, $"{cases} cases");
    }

    [Fact]
    public void CasesCoverEveryProtocol_WithUniqueIds()
    {
        string[] ids = [.. ProtocolSelfTest.Cases().Select(c => c.Id)];
        Assert.Equal(ids.Length, ids.Distinct().Count());
        foreach (string protocol in new[] { "natpmp-", "pcp-", "ssdp-", "soap-" })
        {
            Assert.True(ids.Count(i => i.StartsWith(protocol, StringComparison.Ordinal)) >= 5, protocol);
        }
    }

    [Fact]
    public void Verbose_NamesEveryCase()
    {
        var output = new StringWriter();
        _ = ProtocolSelfTest.Run(output, verbose: true);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(ProtocolSelfTest.Cases().Count(), lines.Count(l => l.StartsWith("PASS ", StringComparison.Ordinal)));
    }
}
