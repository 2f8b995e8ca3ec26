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
        Assert.Equal("add element inet t fwd4 { 192.168.77.10 . tcp . 80 timeout 60s }\n", Diff(users));

        users.Attach(2, s_to80, s_now.AddSeconds(120));
        Assert.Equal(
            "delete element inet t fwd4 { 192.168.77.10 . tcp . 80 }\nadd element inet t fwd4 { 192.168.77.10 . tcp . 80 timeout 120s }\n",
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
        Assert.Contains("add element inet t filt4 { 192.168.77.10 . udp . 9000 . 203.0.113.3/32 . 0-65535 timeout 60s }", diff, StringComparison.Ordinal);
        Assert.DoesNotContain("only4", diff, StringComparison.Ordinal);
    }

    [Fact]
    public void RefusedBatch_RolledBack_LeavesNothingForTheNextBatch()
    {
        var users = new ForwardUsers();
        users.Attach(1, s_to80, s_now.AddSeconds(60));
        Diff(users);

        // A batch adds a second service and renews the first; the kernel refuses it.
        ForwardKey[] to81 = [new("fwd4", "192.168.77.10 . tcp . 81")];
        users.BeginBatch();
        users.Attach(2, to81, s_now.AddSeconds(604800));
        users.Detach(1);
        users.Attach(1, s_to80, s_now.AddSeconds(90));
        users.Rollback();

        // The next batch touches neither: nothing of the refused one comes along, and the first entry is as it was.
        users.BeginBatch();
        ForwardKey[] to82 = [new("fwd4", "192.168.77.10 . tcp . 82")];
        users.Attach(3, to82, s_now.AddSeconds(30));
        Assert.Equal("add element inet t fwd4 { 192.168.77.10 . tcp . 82 timeout 30s }\n", Diff(users));
        Assert.Equal(
            ["192.168.77.10 . tcp . 80 60", "192.168.77.10 . tcp . 82 30"],
            users.Entries(s_now).Select(e => $"{e.Key.Element} {e.Timeout!.Value.TotalSeconds}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void RefusedRemoval_RolledBack_KeepsTheUser()
    {
        var users = new ForwardUsers();
        users.Attach(1, s_to80, s_now.AddSeconds(60));
        Diff(users);
        users.BeginBatch();
        users.Detach(1);
        users.Rollback();
        Assert.Equal(string.Empty, Diff(users));
        Assert.Single(users.Entries(s_now));
    }

    [Fact]
    public void OutboundClaims_RefusedBatch_RolledBack()
    {
        var outbound = new OutboundUsers();
        outbound.Attach(1, "192.168.77.10 . udp . 5000", "203.0.113.1 . 5000", s_now.AddSeconds(60));
        var text = new StringBuilder();
        outbound.AppendKernelChanges(text, "t", s_now);
        outbound.CommitKernelState(s_now);

        outbound.BeginBatch();
        outbound.Attach(2, "192.168.77.11 . udp . 6000", "203.0.113.1 . 6000", s_now.AddSeconds(604800));
        outbound.Detach(1);
        outbound.Rollback();

        text.Clear();
        outbound.AppendKernelChanges(text, "t", s_now);
        Assert.Equal(string.Empty, text.ToString());
        Assert.Equal(["192.168.77.10 . udp . 5000"], outbound.Entries(s_now).Select(e => e.Key));
    }
}
