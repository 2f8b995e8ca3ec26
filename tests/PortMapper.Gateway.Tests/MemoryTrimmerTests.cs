using Microsoft.Extensions.Logging.Abstractions;
using PortMapper.Gateway.Engine;

namespace PortMapper.Gateway.Tests;

/// <summary>
/// When the trimmer wants the engine to wake it: at start, while the table changes, once it has settled (and once
/// more if a trim it wanted came too soon after the last), then never. Whether a trim is wanted depends on this
/// process's GC figures, so the test follows the trimmer's own schedule and checks its shape.
/// </summary>
public class MemoryTrimmerTests
{
    private static readonly DateTimeOffset s_start = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_never = DateTimeOffset.MinValue;

    [Fact]
    public void NextCheck_AtStart_WhileChanging_ThenNever()
    {
        var trimmer = new MemoryTrimmer(NullLogger.Instance);
        Assert.NotNull(trimmer.NextCheck(s_never));
        DateTimeOffset last = Settle(trimmer, s_start, version: 0, s_never);
        Assert.True(last - s_start <= TimeSpan.FromSeconds(30), $"settled only at {last - s_start}");
        Assert.Null(trimmer.NextCheck(s_never)); // idle: no wake-up at all

        // A change: a check within a check interval, and checks until 5 s after it at least; then none.
        DateTimeOffset change = last.AddSeconds(2);
        DateTimeOffset? next = trimmer.NextCheck(change);
        Assert.NotNull(next);
        Assert.True(next <= last.AddSeconds(15));
        DateTimeOffset settled = Settle(trimmer, next!.Value, version: 1, change);
        Assert.True(settled - change >= TimeSpan.FromSeconds(5), $"last check {settled - change} after the change");
        Assert.True(settled - change <= TimeSpan.FromSeconds(25), $"last check {settled - change} after the change");
        Assert.Null(trimmer.NextCheck(change));
    }

    [Fact]
    public void AfterBatch_CollectsTheYoungGeneration_OnceTheBudgetIsAllocated()
    {
        var trimmer = new MemoryTrimmer(NullLogger.Instance);
        trimmer.AfterBatch(); // counts from here
        int start = GC.CollectionCount(0);

        long sink = 0;
        for (long allocated = 0; allocated < MemoryTrimmer.YoungBudget + (1 << 20); allocated += 1024)
        {
            sink += new byte[1000].Length;
        }

        trimmer.AfterBatch();
        Assert.True(GC.CollectionCount(0) > start, $"no young collection after {sink} bytes");
    }

    [Fact]
    public void Decide_WhenALoadEnds_TrimsThoughExpiriesKeepAllocating()
    {
        var trimmer = new MemoryTrimmer(NullLogger.Instance);
        const long mb = 1 << 20;
        DateTimeOffset at = PastStart(trimmer);
        long allocated = 1 * mb;
        for (int i = 0; i < 6; i++)
        {
            at = at.AddSeconds(5);
            allocated += 10 * mb; // 2 MB/s under load
            Assert.Equal(TrimAction.None, trimmer.Decide(at, 0, at, new MemoryFigures(14 * mb, 10 * mb, allocated)));
        }

        // The load is over; its leases keep expiring: 300 KB/s, above the idle rate, a seventh of the load's.
        at = at.AddSeconds(5);
        allocated += 1536 * 1024;
        Assert.Equal(TrimAction.Trim, trimmer.Decide(at, 0, at, new MemoryFigures(14 * mb, 10 * mb, allocated)));
    }

    [Fact]
    public void Decide_UnderSteadyLoad_CollectsOnceGenerationTwoHasGrownByHalf_AndNeverTrims()
    {
        var trimmer = new MemoryTrimmer(NullLogger.Instance);
        const long mb = 1 << 20;
        DateTimeOffset at = PastStart(trimmer);
        trimmer.Collected(10 * mb);
        long allocated = 1 * mb;
        var actions = new List<(long Heap, TrimAction Action)>();
        for (long heap = 10 * mb; heap <= 16 * mb; heap += mb)
        {
            at = at.AddSeconds(5);
            allocated += 10 * mb;
            actions.Add((heap / mb, trimmer.Decide(at, 0, at, new MemoryFigures(heap + (4 * mb), heap, allocated))));
        }

        Assert.DoesNotContain(actions, a => a.Action == TrimAction.Trim);
        Assert.All(actions.Where(a => a.Heap <= 15), a => Assert.Equal(TrimAction.None, a.Action));
        Assert.Equal(TrimAction.Collect, actions.Single(a => a.Heap == 16).Action);
    }

    /// <summary>The first two checks: the second, quiet, is the start-up trim. Returns the time of the last.</summary>
    private static DateTimeOffset PastStart(MemoryTrimmer trimmer)
    {
        Assert.Equal(TrimAction.None, trimmer.Decide(s_start, 0, s_never, new MemoryFigures(14L << 20, 10L << 20, 900 << 10)));
        Assert.Equal(TrimAction.Trim, trimmer.Decide(s_start.AddSeconds(5), 0, s_never, new MemoryFigures(14L << 20, 10L << 20, 1L << 20)));
        return s_start.AddSeconds(20); // the next trim may come 15 s after this one
    }

    /// <summary>Runs the checks the trimmer asks for, from <paramref name="first"/>, until it asks for none; returns the last.</summary>
    private static DateTimeOffset Settle(MemoryTrimmer trimmer, DateTimeOffset first, long version, DateTimeOffset lastChange)
    {
        DateTimeOffset at = first;
        for (int i = 0; i < 8; i++)
        {
            trimmer.Check(at, version, lastChange, 0);
            if (trimmer.NextCheck(lastChange) is not { } next)
            {
                return at;
            }

            Assert.True(next > at, "a check asked for at or before the last one");
            at = next;
        }

        Assert.Fail("the trimmer kept asking for checks");
        return at;
    }
}
