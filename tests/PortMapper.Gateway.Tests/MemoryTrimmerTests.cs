using Microsoft.Extensions.Logging.Abstractions;
using PortMapper.Gateway.Engine;

namespace PortMapper.Gateway.Tests;

/// <summary>When the trimmer wants the engine to wake it: at start, while the table changes, once after, then never.</summary>
public class MemoryTrimmerTests
{
    private static readonly DateTimeOffset s_start = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_never = DateTimeOffset.MinValue;

    [Fact]
    public void NextCheck_AtStartTwice_ThenOnlyAfterChanges()
    {
        var trimmer = new MemoryTrimmer(NullLogger.Instance);
        Assert.NotNull(trimmer.NextCheck(s_never));

        trimmer.Check(s_start, 0, s_never, 0);
        Assert.Equal(s_start.AddSeconds(5), trimmer.NextCheck(s_never));
        trimmer.Check(s_start.AddSeconds(5), 0, s_never, 0);
        Assert.Null(trimmer.NextCheck(s_never)); // idle: no wake-up at all

        DateTimeOffset change = s_start.AddSeconds(7);
        Assert.Equal(s_start.AddSeconds(10), trimmer.NextCheck(change));
        trimmer.Check(s_start.AddSeconds(10), 1, change, 0);
        Assert.Equal(s_start.AddSeconds(15), trimmer.NextCheck(change)); // 3 s after the change: not settled yet
        trimmer.Check(s_start.AddSeconds(15), 1, change, 0);
        Assert.Null(trimmer.NextCheck(change));
    }
}
