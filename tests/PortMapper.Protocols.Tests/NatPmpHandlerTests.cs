using System.Net;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.NatPmp;

namespace PortMapper.Protocols.Tests;

public class NatPmpHandlerTests
{
    private static readonly IPAddress s_client = IPAddress.Parse("192.168.77.10");
    private static readonly NatPmpContext s_online = new(IPAddress.Parse("203.0.113.1"), 500);
    private static readonly NatPmpContext s_offline = new(null, 500);

    private static (NatPmpStep Step, string Reply) Handle(string hex, NatPmpContext context)
    {
        byte[] reply = new byte[NatPmpHandler.MaxReplyLength];
        NatPmpStep step = NatPmpHandler.Handle(Hex.Bytes(hex), s_client, context, reply);
        return (step, Hex.Of(reply.AsSpan(0, step.ReplyLength)));
    }

    [Fact]
    public void ExternalAddress_Online_RepliesWithAddressAndEpoch()
    {
        var (step, reply) = Handle("0000", s_online);
        Assert.Equal(NatPmpAction.Reply, step.Action);
        Assert.Equal("00800000" + "000001f4" + "cb007101", reply);
    }

    [Fact]
    public void ExternalAddress_NoWanAddress_NetworkFailure()
    {
        var (_, reply) = Handle("0000", s_offline);
        Assert.Equal("00800003" + "000001f4" + "00000000", reply);
    }

    [Fact]
    public void Map_NoWanAddress_NetworkFailureWithoutTouchingTable()
    {
        var (step, reply) = Handle("0001 0000 1388 1388 00000e10", s_offline);
        Assert.Equal(NatPmpAction.Reply, step.Action);
        Assert.Equal("00810003" + "000001f4" + "13880000" + "00000000", reply);
    }

    [Fact]
    public void Map_Tcp_BecomesMapCommandForTheSourceAddress()
    {
        var (step, _) = Handle("0002 0000 1f90 2328 00000e10", s_online);
        Assert.Equal(NatPmpAction.Execute, step.Action);
        Assert.Equal(MappingCommandKind.Map, step.Command.Kind);
        Assert.Equal(MappingProtocol.Tcp, step.Command.Protocol);
        Assert.Equal(MappingOrigin.NatPmp, step.Command.Origin);
        Assert.Equal(s_client, step.Command.InternalAddress);
        Assert.Equal(s_client, step.Command.Client);
        Assert.Equal((ushort)8080, step.Command.InternalPort);
        Assert.Equal((ushort)9000, step.Command.SuggestedExternalPort);
        Assert.Equal(3600u, step.Command.RequestedLifetimeSeconds);
    }

    [Fact]
    public void Map_LifetimeZero_BecomesDelete()
    {
        var (step, _) = Handle("0001 0000 1f90 0000 00000000", s_offline);
        Assert.Equal(MappingCommandKind.Delete, step.Command.Kind);
        Assert.Equal(MappingProtocol.Udp, step.Command.Protocol);
    }

    [Fact]
    public void Map_LifetimeAndInternalPortZero_BecomesDeleteAll()
    {
        var (step, _) = Handle("0002 0000 0000 0000 00000000", s_online);
        Assert.Equal(MappingCommandKind.DeleteAll, step.Command.Kind);
    }

    [Theory]
    [InlineData("0100", "00800001000001f4")]
    [InlineData("0101 0000 1f90 1f90 00000e10", "00800001000001f4")]
    [InlineData("0009", "00890005000001f4")]
    public void Handle_UnsupportedVersionOrOpcode_RepliesWithResultCode(string request, string expected)
    {
        var (step, reply) = Handle(request, s_online);
        Assert.Equal(NatPmpAction.Reply, step.Action);
        Assert.Equal(expected, reply);
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("0002 0000 1f90")]
    [InlineData("0080 0000 000001f4 cb007101")]
    public void Handle_ShortOrResponse_Dropped(string request)
    {
        var (step, reply) = Handle(request, s_online);
        Assert.Equal(NatPmpAction.Drop, step.Action);
        Assert.Equal(string.Empty, reply);
    }

    [Theory]
    [InlineData(MappingStatus.Granted, "00820000000001f41f901f9100000e10")]
    [InlineData(MappingStatus.NotAuthorized, "00820002000001f41f90000000000000")]
    [InlineData(MappingStatus.NoExternalAddress, "00820003000001f41f90000000000000")]
    [InlineData(MappingStatus.QuotaExceeded, "00820004000001f41f90000000000000")]
    [InlineData(MappingStatus.NoResources, "00820004000001f41f90000000000000")]
    [InlineData(MappingStatus.Deleted, "00820000000001f41f90000000000000")]
    public void Complete_Outcome_MapsToResultCode(MappingStatus status, string expected)
    {
        var request = new NatPmpRequest(0, 2, 8080, 8080, 3600);
        byte[] reply = new byte[16];
        int n = NatPmpHandler.Complete(request, new MappingOutcome(status, 8081, 3600), s_online, reply);
        Assert.Equal(expected, Hex.Of(reply.AsSpan(0, n)));
    }

    [Fact]
    public void Handle_RandomBytes_NeverThrowsAndRepliesAtMost16Bytes()
    {
        var random = new Random(6886);
        byte[] reply = new byte[NatPmpHandler.MaxReplyLength];
        for (int i = 0; i < 20000; i++)
        {
            byte[] datagram = new byte[random.Next(0, 40)];
            random.NextBytes(datagram);
            NatPmpStep step = NatPmpHandler.Handle(datagram, s_client, s_online, reply);
            Assert.InRange(step.ReplyLength, 0, NatPmpHandler.MaxReplyLength);
            if (step.Action == NatPmpAction.Reply)
            {
                Assert.Equal(0, reply[0]);
                Assert.True(reply[1] >= 128);
            }
        }
    }
}
