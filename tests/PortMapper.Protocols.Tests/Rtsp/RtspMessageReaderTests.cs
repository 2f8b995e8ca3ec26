using System.Text;
using PortMapper.Protocols.Rtsp;

namespace PortMapper.Protocols.Tests.Rtsp;

public class RtspMessageReaderTests
{
    private static RtspReadResult Read(string text) => RtspMessageReader.Read(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Read_GStreamerSetup_GivesMethodUriCSeqAndTransport()
    {
        RtspReadResult r = Read(RtspMessages.Setup);
        Assert.Equal(RtspReadStatus.Message, r.Status);
        Assert.Equal(RtspMessages.Setup.Length, r.Length);
        Assert.Equal(
            new RtspMessage { Method = "SETUP", Uri = "rtsp://203.0.113.2:554/test/stream=0", CSeq = 3, Transport = "RTP/AVP;unicast;client_port=5000-5001" },
            r.Message);
    }

    [Fact]
    public void Read_GStreamerSetupReply_GivesStatusSessionAndTransport()
    {
        RtspMessage m = Read(RtspMessages.SetupReply).Message!;
        Assert.True(m.IsResponse);
        Assert.True(m.IsSuccess);
        Assert.Equal(200, m.StatusCode);
        Assert.Equal("XHBD29KKp-Qxk+mL", m.Session);
        Assert.Null(m.SessionTimeout);
        Assert.StartsWith("RTP/AVP;unicast;client_port=5000-5001;server_port=43894-43895", m.Transport, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BodyIsNotPartOfTheHeader_ContentLengthSaysHowMuchFollows()
    {
        RtspReadResult r = Read(RtspMessages.DescribeReply + RtspMessages.SetupReply);
        Assert.Equal(RtspMessages.DescribeReply.Length - 45, r.Length);
        Assert.Equal(45, r.Message!.ContentLength);
    }

    [Fact]
    public void Read_EveryPrefixOfAHeader_NeedsMore()
    {
        byte[] whole = Encoding.ASCII.GetBytes(RtspMessages.SetupReply);
        for (int n = 0; n < whole.Length; n++)
        {
            RtspReadResult r = RtspMessageReader.Read(whole.AsSpan(0, n));
            Assert.True(r.Status == RtspReadStatus.NeedMore, $"prefix of {n} octets: {r.Status} {r.Error}");
        }

        Assert.Equal(RtspReadStatus.Message, RtspMessageReader.Read(whole).Status);
    }

    [Fact]
    public void Read_BareLineFeeds_AndLeadingEmptyLines_AreAccepted()
    {
        RtspReadResult r = Read("\r\n\nRTSP/1.0 200 OK\nCSeq: 9\nSession: abc;timeout=30\n\n");
        Assert.Equal(RtspReadStatus.Message, r.Status);
        Assert.Equal(9, r.Message!.CSeq);
        Assert.Equal(30, r.Message.SessionTimeout);
        Assert.Equal(r.Length, "\r\n\nRTSP/1.0 200 OK\nCSeq: 9\nSession: abc;timeout=30\n\n".Length);
    }

    [Fact]
    public void Read_HeaderNamesAreCaseInsensitive_AndRepeatedTransportsJoin()
    {
        RtspMessage m = Read("SETUP rtsp://h/s RTSP/1.0\r\ncseq: 5\r\nTRANSPORT: RTP/AVP;unicast;client_port=6000-6001\r\ntransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n").Message!;
        Assert.Equal(5, m.CSeq);
        Assert.Equal("RTP/AVP;unicast;client_port=6000-6001,RTP/AVP/TCP;interleaved=0-1", m.Transport);
    }

    [Fact]
    public void Read_InterleavedFrame_GivesItsWholeLength()
    {
        RtspReadResult r = RtspMessageReader.Read([(byte)'$', 0, 0x01, 0x2C, 1, 2, 3]);
        Assert.Equal(new RtspReadResult(RtspReadStatus.Interleaved, null, 4 + 300, RtspParseError.None), r);
        Assert.Equal(RtspReadStatus.NeedMore, RtspMessageReader.Read([(byte)'$', 0, 0x01]).Status);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n", RtspParseError.BadStartLine)]
    [InlineData("SETUP rtsp://h/s\r\nCSeq: 1\r\n\r\n", RtspParseError.BadStartLine)]
    [InlineData("RTSP/1.0 2000 OK\r\nCSeq: 1\r\n\r\n", RtspParseError.BadStartLine)]
    [InlineData("SE\u0001TUP rtsp://h/s RTSP/1.0\r\n\r\n", RtspParseError.BadStartLine)]
    [InlineData("SETUP rtsp://h/s RTSP/1.0\r\nno colon\r\n\r\n", RtspParseError.BadHeaderLine)]
    [InlineData("SETUP rtsp://h/s RTSP/1.0\r\nCSeq: 1\u0000\r\n\r\n", RtspParseError.BadHeaderLine)]
    [InlineData("SETUP rtsp://h/s RTSP/1.0\r\nCSeq: one\r\n\r\n", RtspParseError.BadCSeq)]
    [InlineData("SETUP rtsp://h/s RTSP/1.0\r\nCSeq: 1\r\nCSeq: 2\r\n\r\n", RtspParseError.BadCSeq)]
    [InlineData("RTSP/1.0 200 OK\r\nContent-Length: -5\r\n\r\n", RtspParseError.BadContentLength)]
    [InlineData("RTSP/1.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n", RtspParseError.BadContentLength)]
    [InlineData("RTSP/1.0 200 OK\r\nSession: a b\r\n\r\n", RtspParseError.BadSession)]
    [InlineData("RTSP/1.0 200 OK\r\nSession: abc;timeout=soon\r\n\r\n", RtspParseError.BadSession)]
    [InlineData("RTSP/1.0 200 OK\r\nSession: abc\r\nSession: def\r\n\r\n", RtspParseError.BadSession)]
    public void Read_Malformed_SaysWhy(string text, RtspParseError expected)
    {
        RtspReadResult r = Read(text);
        Assert.Equal(RtspReadStatus.Malformed, r.Status);
        Assert.Equal(expected, r.Error);
        Assert.Null(r.Message);
    }

    [Fact]
    public void Read_HeaderThatNeverEnds_IsMalformedAtTheLimitNotBuffered()
    {
        string endless = "SETUP rtsp://h/s RTSP/1.0\r\n" + string.Concat(Enumerable.Repeat("X-Pad: 0123456789\r\n", 500));
        Assert.Equal(RtspReadStatus.NeedMore, Read(endless[..(RtspMessageReader.MaxHeaderLength - 1)]).Status);
        Assert.Equal(RtspParseError.HeaderTooLong, Read(endless).Error);
    }
}
