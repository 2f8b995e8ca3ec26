using System.Net;
using System.Text;
using PortMapper.KernelBackend.Nftables;

namespace PortMapper.KernelBackend.Tests;

public class ForwardUsersTests
{
    private static readonly DateTimeOffset s_now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly ForwardKey[] s_to80 = [new("fwd4", "192.168.77.10 . tcp . 80")];

    private static string Diff(ForwardUsers users)
    {
        var text = new StringBuilder();
        users.AppendKernelChanges(text, "t", s_now);
        users.CommitKernelState(s_now);
        return text.ToString();
    }

    [Fact]
    public void TwoMappingsToOneService_ShareOneEntryWithTheLongerTimeout()
    {
        var users = new ForwardUsers();
        users.Attach(1, s_to80, s_now.AddSeconds(60));
        Assert.Equal("add element inet t fwd4 { 192.168.77.10 . tcp . 80 timeout 60000ms }\n", Diff(users));

        users.Attach(2, s_to80, s_now.AddSeconds(120));
        Assert.Equal(
            "delete element inet t fwd4 { 192.168.77.10 . tcp . 80 }\nadd element inet t fwd4 { 192.168.77.10 . tcp . 80 timeout 120000ms }\n",
            Diff(users));
    }

    [Fact]
    public void RemovingOneOfTwoUsers_KeepsTheEntry()
    {
        var users = new ForwardUsers();
        users.Attach(1, s_to80, s_now.AddSeconds(60));
        users.Attach(2, s_to80, s_now.AddSeconds(60));
        Diff(users);

        users.Detach(1);
        Assert.Equal(string.Empty, Diff(users));

        users.Detach(2);
        Assert.Equal("delete element inet t fwd4 { 192.168.77.10 . tcp . 80 }\n", Diff(users));
    }

    [Fact]
    public void ShorterRenewal_LeavesLongerEntryAlone()
    {
        var users = new ForwardUsers();
        users.Attach(1, s_to80, s_now.AddSeconds(600));
        Diff(users);
        users.Detach(1);
        users.Attach(1, s_to80, s_now.AddSeconds(60));
        Assert.Equal(string.Empty, Diff(users));
    }

    [Fact]
    public void FiltersReplaced_OldElementsGoNewOnesCome()
    {
        var mapping = new PortMapping(TransportProtocol.Udp, 9000, IPAddress.Parse("192.168.77.10"), 9000, TimeSpan.FromSeconds(60), 7,
            [new RemoteFilter(IPNetwork.Parse("203.0.113.2/32"), 0)]);
        var users = new ForwardUsers();
        users.Attach(7, NftablesRuleset.ForwardKeys(mapping), s_now.AddSeconds(60));
        Diff(users);

        users.Detach(7);
        users.Attach(7, NftablesRuleset.ForwardKeys(mapping with { Filters = [new RemoteFilter(IPNetwork.Parse("203.0.113.3/32"), 0)] }), s_now.AddSeconds(60));
        string diff = Diff(users);
        Assert.Contains("delete element inet t filt4 { 192.168.77.10 . udp . 9000 . 203.0.113.2/32 . 0-65535 }", diff, StringComparison.Ordinal);
        Assert.Contains("add element inet t filt4 { 192.168.77.10 . udp . 9000 . 203.0.113.3/32 . 0-65535 timeout 60000ms }", diff, StringComparison.Ordinal);
        Assert.DoesNotContain("only4", diff, StringComparison.Ordinal);
    }
}
