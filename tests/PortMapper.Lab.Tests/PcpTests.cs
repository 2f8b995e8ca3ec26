using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Conformance.PcpClient;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>PCP (RFC 6887) against the real daemon with the conformance suite's own client; every mapping proven from the WAN.</summary>
public class PcpTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public PcpTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private Task<PcpAnswer?> MapAsync(ushort port, uint lifetime, byte[] nonce, byte protocol = PcpMessage.Tcp, params byte[][] options) =>
        GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan,
            PcpMessage.Map(GatewayLab.Lan1Address, protocol, port, port, lifetime, nonce, options));

    [Fact]
    public async Task MapTcp_ReachableFromWan_DeleteClosesIt()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8600, "pcp-tcp");
        byte[] nonce = PcpMessage.NewNonce();
        PcpAnswer? map = await MapAsync(8600, 3600, nonce);
        Assert.NotNull(map);
        Assert.Equal((PcpAnswer.Success, (byte)0x01, 3600u), (map.Result, map.Opcode, map.Lifetime));
        Assert.Equal(nonce, map.Nonce);
        Assert.Equal(GatewayLab.External, map.ExternalAddress);
        Assert.Equal("pcp-tcp", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, map.ExternalPort));

        PcpAnswer? delete = await MapAsync(8600, 0, nonce);
        Assert.Equal((PcpAnswer.Success, 0u), (delete!.Result, delete.Lifetime));
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, map.ExternalPort));
    }

    [Fact]
    public async Task MapUdp_DatagramReachesLanHost_ThenExpires()
    {
        PcpAnswer? map = await MapAsync(8610, 2, PcpMessage.NewNonce(), PcpMessage.Udp);
        Assert.Equal(PcpAnswer.Success, map!.Result);

        using Socket lanSide = GatewayLab.Udp(_lab.Lan1, 8610);
        using Socket wanSide = GatewayLab.Udp(_lab.Wan);
        await wanSide.SendToAsync(Encoding.ASCII.GetBytes("in"), SocketFlags.None, new IPEndPoint(GatewayLab.External, map.ExternalPort));
        Assert.NotNull(await GatewayLab.ReceiveAsync(lanSide, TimeSpan.FromSeconds(2)));

        await Task.Delay(TimeSpan.FromSeconds(2.5));
        await wanSide.SendToAsync(Encoding.ASCII.GetBytes("late"), SocketFlags.None, new IPEndPoint(GatewayLab.External, map.ExternalPort));
        Assert.Null(await GatewayLab.ReceiveAsync(lanSide, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Filter_LetsTheListedPeerIn_KeepsAnotherWanAddressOut()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8620, "filtered");
        PcpAnswer? map = await MapAsync(8620, 600, PcpMessage.NewNonce(), PcpMessage.Tcp, PcpMessage.Filter(GatewayLab.WanHost, 32, 0));
        Assert.Equal(PcpAnswer.Success, map!.Result);
        Assert.Equal(24 + 36 + 24, map.Length); // the FILTER is echoed

        Assert.Equal("filtered", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, map.ExternalPort, from: GatewayLab.WanHost));
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, map.ExternalPort, TimeSpan.FromSeconds(1), from: GatewayLab.WanHost2));
    }

    [Fact]
    public async Task Pinhole_IPv6_ClosedBefore_OpenAfter_ClosedAfterDelete()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 8630, "v6");
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan1Address6, 8630, TimeSpan.FromSeconds(1)));

        byte[] nonce = PcpMessage.NewNonce();
        byte[] map = PcpMessage.Map(GatewayLab.Lan1Address6, PcpMessage.Tcp, 8630, 0, 600, nonce);
        PcpAnswer? answer = await GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address6, GatewayLab.GatewayLan6, map);
        Assert.NotNull(answer);
        Assert.Equal(PcpAnswer.Success, answer.Result);
        Assert.Equal((GatewayLab.Lan1Address6, (ushort)8630), (answer.ExternalAddress, answer.ExternalPort));
        Assert.Equal("v6", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan1Address6, 8630));
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan1Address6, 8631, TimeSpan.FromSeconds(1)));

        byte[] delete = PcpMessage.Map(GatewayLab.Lan1Address6, PcpMessage.Tcp, 8630, 0, 0, nonce);
        Assert.Equal(PcpAnswer.Success, (await GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address6, GatewayLab.GatewayLan6, delete))!.Result);
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.Lan1Address6, 8630, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Peer_OutboundFlowLeavesWithTheReportedPort()
    {
        using Socket peerSide = GatewayLab.Udp(_lab.Wan, 3478, GatewayLab.WanHost);
        byte[] request = PcpMessage.Peer(GatewayLab.Lan1Address, PcpMessage.Udp, 8640, 18640, 600, PcpMessage.NewNonce(), new IPEndPoint(GatewayLab.WanHost, 3478));
        PcpAnswer? answer = await GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan, request);
        Assert.NotNull(answer);
        Assert.Equal((PcpAnswer.Success, (byte)0x02), (answer.Result, answer.Opcode));
        Assert.Equal(18640, answer.ExternalPort);

        using Socket client = GatewayLab.Udp(_lab.Lan1, 8640);
        await client.SendToAsync(Encoding.ASCII.GetBytes("hello peer"), SocketFlags.None, new IPEndPoint(GatewayLab.WanHost, 3478));
        var seen = await GatewayLab.ReceiveAsync(peerSide, TimeSpan.FromSeconds(2));
        Assert.NotNull(seen);
        Assert.Equal(new IPEndPoint(GatewayLab.External, answer.ExternalPort), seen.Value.From);
    }

    [Fact]
    public async Task Announce_NonceMismatch_ThirdParty_AddressMismatch()
    {
        PcpAnswer? announce = await GatewayLab.PcpAsync(_lab.Lan2, GatewayLab.Lan2Address, GatewayLab.GatewayLan, PcpMessage.Announce(GatewayLab.Lan2Address));
        Assert.Equal((PcpAnswer.Success, (byte)0, 24), (announce!.Result, announce.Opcode, announce.Length));

        byte[] nonce = PcpMessage.NewNonce();
        Assert.Equal(PcpAnswer.Success, (await MapAsync(8650, 600, nonce))!.Result);
        Assert.Equal(PcpAnswer.NotAuthorized, (await MapAsync(8650, 600, PcpMessage.NewNonce()))!.Result);
        Assert.Equal(PcpAnswer.NotAuthorized, (await MapAsync(8651, 600, nonce, PcpMessage.Tcp, PcpMessage.ThirdParty(GatewayLab.Lan2Address)))!.Result);

        byte[] lying = PcpMessage.Map(GatewayLab.Lan2Address, PcpMessage.Tcp, 8652, 8652, 600, nonce);
        Assert.Equal(PcpAnswer.AddressMismatch, (await GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan, lying))!.Result);
    }

    [Fact]
    public async Task RequestsFromTheWan_Silence()
    {
        await Shell.InNamespaceAsync(_lab.Wan, "ip", "route", "replace", "192.168.77.0/24", "via", "203.0.113.1");
        byte[] map = PcpMessage.Map(GatewayLab.WanHost, PcpMessage.Tcp, 8660, 8660, 600, PcpMessage.NewNonce());
        Assert.Null(await GatewayLab.PcpAsync(_lab.Wan, GatewayLab.WanHost, GatewayLab.External, map));
        Assert.Null(await GatewayLab.PcpAsync(_lab.Wan, GatewayLab.WanHost, GatewayLab.GatewayLan, map));
        IPAddress wan6 = IPAddress.Parse("2001:db8:ffff::2");
        byte[] map6 = PcpMessage.Map(wan6, PcpMessage.Tcp, 8660, 8660, 600, PcpMessage.NewNonce());
        Assert.Null(await GatewayLab.PcpAsync(_lab.Wan, wan6, GatewayLab.External6, map6));
        Assert.Null(await GatewayLab.PcpAsync(_lab.Wan, wan6, GatewayLab.GatewayLan6, map6));
        Assert.DoesNotContain("8660", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NatPmpAndPcp_ShareOneTable()
    {
        Assert.Equal(8670, (await _lab.NatPmpcAsync(_lab.Lan2, 8670, 8670, "tcp", 600)).PublicPort);
        PcpAnswer? pcp = await MapAsync(8670, 600, PcpMessage.NewNonce());
        Assert.Equal(PcpAnswer.Success, pcp!.Result);
        Assert.NotEqual(8670, pcp.ExternalPort);

        byte[] strict = PcpMessage.Map(GatewayLab.Lan1Address, PcpMessage.Tcp, 8671, 8670, 600, PcpMessage.NewNonce(), PcpMessage.PreferFailure());
        Assert.Equal(PcpAnswer.CannotProvideExternal, (await GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan, strict))!.Result);
    }
}
