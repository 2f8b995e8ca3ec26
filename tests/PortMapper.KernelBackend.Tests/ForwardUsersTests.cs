using System.Net;
using System.Text;
using PortMapper.KernelBackend.Nftables;

namespace PortMapper.KernelBackend.Tests;

public class ForwardUsersTests
{
    private static readonly IPAddress s_host = IPAddress.Parse("192.168.77.10");
    private static readonly DateTimeOffset s_now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static PortMapping To80(ushort externalPort, int seconds) =>
        new(TransportProtocol.Tcp, externalPort, s_host, 80, TimeSpan.FromSeconds(seconds));

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
        users.Attach(To80(8080, 60), s_now);
        Assert.Equal("add element inet t fwd4 { 192.168.77.10 . tcp . 80 timeout 60000ms }\n", Diff(users));

        users.Attach(To80(8081, 120), s_now);
        Assert.Equal(
            "delete element inet t fwd4 { 192.168.77.10 . tcp . 80 }\nadd element inet t fwd4 { 192.168.77.10 . tcp . 80 timeout 120000ms }\n",
            Diff(users));
    }

    [Fact]
    public void RemovingOneOfTwoUsers_KeepsTheEntry()
    {
        var users = new ForwardUsers();
        users.Attach(To80(8080, 60), s_now);
        users.Attach(To80(8081, 60), s_now);
        Diff(users);

        users.Detach(TransportProtocol.Tcp, 8080);
        Assert.Equal(string.Empty, Diff(users));

        users.Detach(TransportProtocol.Tcp, 8081);
        Assert.Equal("delete element inet t fwd4 { 192.168.77.10 . tcp . 80 }\n", Diff(users));
    }

    [Fact]
    public void ShorterRenewal_LeavesLongerEntryAlone()
    {
        var users = new ForwardUsers();
        users.Attach(To80(8080, 600), s_now);
        Diff(users);
        users.Detach(TransportProtocol.Tcp, 8080);
        users.Attach(To80(8080, 60), s_now);
        Assert.Equal(string.Empty, Diff(users));
    }
}
