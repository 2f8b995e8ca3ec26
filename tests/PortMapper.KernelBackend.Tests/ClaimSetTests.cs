using PortMapper.KernelBackend.Nftables;

namespace PortMapper.KernelBackend.Tests;

/// <summary>The claims on one kernel element: lowest id first, whatever order they came and went in.</summary>
public class ClaimSetTests
{
    [Fact]
    public void Claims_StayInIdOrder_AndTheNextTakesOverWhenTheFirstGoes()
    {
        var set = new ClaimSet<string>();
        Assert.False(set.Remove(1));
        set.Set(5, "five");
        set.Set(9, "nine");
        set.Set(2, "two");
        set.Set(7, "seven");
        set.Set(9, "NINE");
        Assert.Equal(4, set.Count);
        Assert.Equal([2L, 5L, 7L, 9L], set.All().Select(c => c.Key));
        Assert.Equal(new KeyValuePair<long, string>(2, "two"), set.First);
        Assert.True(set.TryGetValue(9, out string? nine));
        Assert.Equal("NINE", nine);
        Assert.False(set.TryGetValue(6, out _));

        Assert.True(set.Remove(2));
        Assert.Equal(5, set.First.Key);
        Assert.True(set.Remove(7));
        Assert.False(set.Remove(7));
        Assert.Equal([5L, 9L], set.All().Select(c => c.Key));
        Assert.True(set.Remove(5));
        Assert.True(set.Remove(9));
        Assert.Equal(0, set.Count);
        Assert.Empty(set.All());

        set.Set(3, "three");
        Assert.Equal([3L], set.All().Select(c => c.Key));
    }
}
