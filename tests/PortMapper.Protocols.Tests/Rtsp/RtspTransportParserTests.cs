using PortMapper.Protocols.Rtsp;

namespace PortMapper.Protocols.Tests.Rtsp;

public class RtspTransportParserTests
{
    private static List<RtspTransportSpec> Parse(string value)
    {
        var specs = new List<RtspTransportSpec>();
        Assert.Equal(RtspTransportError.None, RtspTransportParser.TryParse(value, specs));
        return specs;
    }

    [Fact]
    public void Parse_GStreamerReply_GivesClientAndServerPorts()
    {
        RtspTransportSpec spec = Assert.Single(Parse("RTP/AVP;unicast;client_port=5000-5001;server_port=43894-43895;ssrc=D1783F81;mode=\"PLAY\""));
        Assert.Equal(new RtspTransportSpec("RTP/AVP", false, false, new RtspPortRange(5000, 5001), new RtspPortRange(43894, 43895), false, null, null), spec);
        Assert.True(spec.IsUnicastUdp);
    }

    [Fact]
    public void Parse_ClientOffers_AreKeptInOrder()
    {
        List<RtspTransportSpec> specs = Parse("RTP/AVP/UDP;unicast;client_port=6970-6971, RTP/AVP/TCP;unicast;interleaved=0-1, RTP/AVP;multicast");
        Assert.Equal(3, specs.Count);
        Assert.True(specs[0].IsUnicastUdp);
        Assert.True(specs[1].Tcp);
        Assert.True(specs[1].Interleaved);
        Assert.True(specs[2].Multicast);
        Assert.False(specs[2].IsUnicastUdp);
    }

    [Fact]
    public void Parse_SinglePortDestinationAndSource()
    {
        RtspTransportSpec spec = Assert.Single(Parse("RTP/AVP;unicast;destination=192.168.77.11;source=198.51.100.9;client_port=7000"));
        Assert.Equal(new RtspPortRange(7000, 7000), spec.ClientPorts);
        Assert.Equal(1, spec.ClientPorts!.Value.Count);
        Assert.Equal("192.168.77.11", spec.Destination);
        Assert.Equal("198.51.100.9", spec.Source);
    }

    [Theory]
    [InlineData("", RtspTransportError.Empty)]
    [InlineData(" , ", RtspTransportError.Empty)]
    [InlineData("RTP;unicast", RtspTransportError.BadProtocol)]
    [InlineData("RTP/AVP/UDP/EXTRA;unicast", RtspTransportError.BadProtocol)]
    [InlineData("RTP/A VP;unicast", RtspTransportError.BadProtocol)]
    [InlineData("RTP/AVP;client_port=0-1", RtspTransportError.BadPort)]
    [InlineData("RTP/AVP;client_port=5001-5000", RtspTransportError.BadPort)]
    [InlineData("RTP/AVP;client_port=65536", RtspTransportError.BadPort)]
    [InlineData("RTP/AVP;client_port=5000-5001-5002", RtspTransportError.BadPort)]
    [InlineData("RTP/AVP;client_port=+5000", RtspTransportError.BadPort)]
    [InlineData("RTP/AVP;client_port", RtspTransportError.BadPort)]
    [InlineData("RTP/AVP;server_port=x", RtspTransportError.BadPort)]
    public void Parse_Malformed_SaysWhyAndGivesNothing(string value, RtspTransportError expected)
    {
        var specs = new List<RtspTransportSpec> { new("stale", false, false, null, null, false, null, null) };
        Assert.Equal(expected, RtspTransportParser.TryParse(value, specs));
        Assert.Empty(specs);
    }

    [Fact]
    public void Parse_TooManyOffers_IsRefused()
    {
        string offers = string.Join(",", Enumerable.Range(0, RtspTransportParser.MaxSpecs + 1).Select(i => $"RTP/AVP;client_port={6000 + (2 * i)}"));
        Assert.Equal(RtspTransportError.Empty, RtspTransportParser.TryParse(offers, []));
    }
}
