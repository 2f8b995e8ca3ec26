using System.Net;
using PortMapper.Gateway.Leases;

namespace PortMapper.Gateway.Tests;

public class PolicyTests
{
    private static readonly IPAddress s_host = IPAddress.Parse("192.168.77.10");

    [Fact]
    public void Permits_FirstMatchingRuleDecides()
    {
        var policy = new Policy(
        [
            new PolicyRule(false, new PortRange(6000, 6999), IPNetwork.Parse("192.168.77.0/24"), PortRange.Unprivileged),
            new PolicyRule(true, PortRange.Unprivileged, IPNetwork.Parse("192.168.77.0/24"), PortRange.Unprivileged),
        ]);
        Assert.False(policy.Permits(6500, s_host, 6500));
        Assert.True(policy.Permits(7000, s_host, 6500));
        Assert.False(policy.Permits(7000, IPAddress.Parse("192.168.78.1"), 6500));
    }

    [Fact]
    public void MayPermit_AllowRuleHiddenByDeny_False()
    {
        var net = IPNetwork.Parse("192.168.77.0/24");
        var policy = new Policy([new PolicyRule(false, new PortRange(1, 65535), net, new PortRange(22, 22)), new PolicyRule(true, PortRange.Unprivileged, net, new PortRange(1, 65535))]);
        Assert.False(policy.MayPermit(s_host, 22));
        Assert.True(policy.MayPermit(s_host, 2222));
    }

    [Theory]
    [InlineData("8080", 8080, 8080)]
    [InlineData("1024-65535", 1024, 65535)]
    [InlineData(" 5 - 6 ", 5, 6)]
    public void PortRange_Valid_Parses(string text, int low, int high)
    {
        Assert.True(PortRange.TryParse(text, out PortRange range, out _));
        Assert.Equal(new PortRange((ushort)low, (ushort)high), range);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("2000-1000")]
    [InlineData("a-b")]
    [InlineData("")]
    [InlineData("-5")]
    public void PortRange_Invalid_Rejected(string text)
    {
        Assert.False(PortRange.TryParse(text, out _, out string error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void RateLimiter_BurstThenRefill()
    {
        var limiter = new RateLimiter(perSecond: 2, burst: 3);
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.True(limiter.TryAcquire(s_host, t));
        Assert.True(limiter.TryAcquire(s_host, t));
        Assert.True(limiter.TryAcquire(s_host, t));
        Assert.False(limiter.TryAcquire(s_host, t));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("192.168.77.11"), t));
        Assert.True(limiter.TryAcquire(s_host, t.AddSeconds(0.5)));
        Assert.False(limiter.TryAcquire(s_host, t.AddSeconds(0.5)));
    }
}
