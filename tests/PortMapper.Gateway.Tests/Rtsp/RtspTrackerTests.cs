using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using PortMapper.Gateway.Rtsp;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Ip;

namespace PortMapper.Gateway.Tests.Rtsp;

public class RtspTrackerTests
{
    private static readonly IPAddress s_client = IPAddress.Parse("192.168.77.10");
    private static readonly IPAddress s_client2 = IPAddress.Parse("192.168.77.11");
    private static readonly IPAddress s_server = IPAddress.Parse("203.0.113.2");
    private const string Uri = "rtsp://203.0.113.2:554/test";

    private readonly RtspTracker _tracker = new(new RtspTrackerOptions((_, port) => port >= 1024 && port != 5351, MaxConnectionsPerClient: 3), NullLogger.Instance);

    private static string Setup(int cseq, string transport, string? session = null) =>
        $"SETUP {Uri}/stream={cseq} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: GStreamer/1.22.0\r\nTransport: {transport}\r\n" + (session is null ? string.Empty : $"Session: {session}\r\n") + "\r\n";

    private static string Reply(int cseq, string? transport = null, string session = "XHBD29KKp-Qxk+mL", int status = 200) =>
        $"RTSP/1.0 {status} {(status == 200 ? "OK" : "Session Not Found")}\r\nCSeq: {cseq}\r\n" + (transport is null ? string.Empty : $"Transport: {transport}\r\n") +
        $"Server: GStreamer RTSP server\r\nSession: {session}\r\n\r\n";

    private static string Request(string method, int cseq, string session = "XHBD29KKp-Qxk+mL", string uri = Uri + "/") =>
        $"{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\nSession: {session}\r\n\r\n";

    private RtspConversation Connect(IPAddress? client = null, ushort port = 40014) => new RtspConversation(_tracker, client ?? s_client, port, s_server).Handshake();

    private static MediaOpening Port(ushort port, IPAddress? client = null) => new(s_server, client ?? s_client, port);

    private static MediaChange[] Of(RtspConversation c, MediaChangeKind kind) => [.. c.Changes.Where(x => x.Kind == kind)];

    /// <summary>The ports the changes leave open, in the order they were opened.</summary>
    private static List<MediaOpening> LeftOpen(RtspConversation c)
    {
        var open = new List<MediaOpening>();
        foreach (MediaChange change in c.Changes)
        {
            if (change.Kind == MediaChangeKind.Open)
            {
                open.Add(change.Opening);
            }
            else if (change.Kind == MediaChangeKind.Close)
            {
                open.Remove(change.Opening);
            }
        }

        return open;
    }

    /// <summary>The GStreamer exchange seen in the lab: OPTIONS, DESCRIBE (with an SDP body), SETUP, PLAY, TEARDOWN.</summary>
    private RtspConversation PlayedSession(int segment = int.MaxValue)
    {
        RtspConversation c = Connect();
        c.ClientSends("OPTIONS " + Uri + " RTSP/1.0\r\nCSeq: 1\r\n\r\n", segment)
            .ServerSends("RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n", segment)
            .ClientSends("DESCRIBE " + Uri + " RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n", segment)
            .ServerSends("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 46\r\n\r\nv=0\r\nm=audio 0 RTP/AVP 96\r\na=control:stream=0\r\n", segment)
            .ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001"), segment)
            .ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001;server_port=43894-43895;ssrc=D1783F81;mode=\"PLAY\""), segment)
            .ClientSends(Request("PLAY", 4), segment)
            .ServerSends(Reply(4), segment);
        return c;
    }

    [Fact]
    public void Session_OpensExactlyTheAcceptedClientPortsFromThatServer()
    {
        RtspConversation c = PlayedSession();
        Assert.Equal(
            [new MediaChange(MediaChangeKind.Open, Port(5000), TimeSpan.FromMinutes(2)), new MediaChange(MediaChangeKind.Open, Port(5001), TimeSpan.FromMinutes(2))],
            c.Changes);
        Assert.Equal(2, _tracker.OpenPorts);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(50)]
    public void Session_CutIntoSegmentsAnywhere_OpensTheSame(int segment)
    {
        RtspConversation c = PlayedSession(segment);
        Assert.Equal([Port(5000), Port(5001)], Of(c, MediaChangeKind.Open).Select(x => x.Opening));
    }

    [Fact]
    public void Teardown_ClosesTheSessionsPorts()
    {
        RtspConversation c = PlayedSession();
        c.Changes.Clear();
        c.ClientSends(Request("TEARDOWN", 6));
        Assert.Equal([Port(5000), Port(5001)], Of(c, MediaChangeKind.Close).Select(x => x.Opening));
        Assert.Equal(0, _tracker.OpenPorts);
        Assert.Equal(1, _tracker.Connections);
    }

    [Fact]
    public void TeardownOfAnotherSession_ClosesNothing()
    {
        RtspConversation c = PlayedSession();
        c.Changes.Clear();
        c.ClientSends(Request("TEARDOWN", 6, session: "someoneElse"));
        Assert.Empty(c.Changes);
    }

    [Fact]
    public void TeardownOfOneStream_LeavesTheOthers()
    {
        RtspConversation c = Connect()
            .ClientSends(Setup(1, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(1, "RTP/AVP;unicast;client_port=5000-5001"))
            .ClientSends(Setup(2, "RTP/AVP;unicast;client_port=5002-5003", "XHBD29KKp-Qxk+mL")).ServerSends(Reply(2, "RTP/AVP;unicast;client_port=5002-5003"));
        c.Changes.Clear();
        c.ClientSends(Request("TEARDOWN", 3, uri: Uri + "/stream=2"));
        Assert.Equal([Port(5002), Port(5003)], Of(c, MediaChangeKind.Close).Select(x => x.Opening));
        Assert.Equal(2, _tracker.OpenPorts);
    }

    [Fact]
    public void ConnectionEnd_FinOrRst_ClosesEverything()
    {
        RtspConversation fin = PlayedSession();
        fin.Changes.Clear();
        fin.ClientFin();
        Assert.Equal(2, Of(fin, MediaChangeKind.Close).Length);

        RtspConversation rst = Connect(port: 40020)
            .ClientSends(Setup(3, "RTP/AVP;unicast;client_port=6000-6001")).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=6000-6001"));
        rst.Changes.Clear();
        rst.ServerRst();
        Assert.Equal([Port(6000), Port(6001)], Of(rst, MediaChangeKind.Close).Select(x => x.Opening));
        Assert.Equal(0, _tracker.Connections);
    }

    [Theory]
    [InlineData(TcpFlags.Rst)]
    [InlineData(TcpFlags.Fin)]
    public void ForgedRstOrFin_OutsideTheServersSequence_ClosesNothing(TcpFlags flag)
    {
        RtspConversation session = PlayedSession();
        session.Changes.Clear();
        session.ForgedServerEnd(flag);
        Assert.Empty(session.Changes);
        Assert.Equal(1, _tracker.Connections);

        // The real end still closes it.
        session.ServerRst();
        Assert.Equal(2, Of(session, MediaChangeKind.Close).Length);
    }

    [Fact]
    public void Session_WithoutRequests_TimesOutAfterTwoSessionTimeouts()
    {
        RtspConversation c = Connect()
            .ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001"))
            .ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001", session: "abc;timeout=45"));
        Assert.Equal([TimeSpan.FromSeconds(90)], Of(c, MediaChangeKind.Refresh).Select(x => x.Timeout).Distinct());
        c.Changes.Clear();
        c.Sweep(TimeSpan.FromSeconds(89));
        Assert.Empty(c.Changes);
        c.Sweep(TimeSpan.FromSeconds(1));
        Assert.Equal(2, Of(c, MediaChangeKind.Close).Length);
        Assert.Equal(0, _tracker.Connections);
    }

    [Fact]
    public void KeepAliveRequests_ExtendThePortsOnceAQuarterOfTheirTimeHasGone()
    {
        RtspConversation c = PlayedSession();
        c.Changes.Clear();
        c.Now += TimeSpan.FromSeconds(10);
        c.ClientSends(Request("GET_PARAMETER", 5));
        Assert.Empty(c.Changes);
        c.Now += TimeSpan.FromSeconds(25);
        c.ClientSends(Request("GET_PARAMETER", 6));
        Assert.Equal([Port(5000), Port(5001)], Of(c, MediaChangeKind.Refresh).Select(x => x.Opening));
        c.Changes.Clear();
        c.Sweep(TimeSpan.FromSeconds(100));
        Assert.Empty(c.Changes);
    }

    [Fact]
    public void Setup_OpensTheOfferedPortsBeforeTheAnswer()
    {
        // A server streams right after PLAY, which may follow its answer within a millisecond.
        RtspConversation c = Connect().ClientSends(Setup(3, "RTP/AVP/TCP;interleaved=0-1,RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Equal([Port(5000), Port(5001)], LeftOpen(c));
    }

    [Fact]
    public void SetupRefused_ClosesWhatTheRequestOpened()
    {
        RtspConversation c = Connect().ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001", status: 454));
        Assert.Empty(LeftOpen(c));
        Assert.Equal(0, _tracker.OpenPorts);
    }

    [Fact]
    public void AnswerWithOtherPorts_MovesToThem()
    {
        RtspConversation c = Connect().ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5010-5011"));
        Assert.Equal([Port(5010), Port(5011)], LeftOpen(c));
        Assert.Equal([Port(5000), Port(5001)], Of(c, MediaChangeKind.Close).Select(x => x.Opening));
    }

    [Fact]
    public void AnswerChoosingInterleaved_ClosesTheUdpPorts()
    {
        RtspConversation c = Connect().ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;interleaved=0-1"))
            .ServerSends(Reply(3, "RTP/AVP/TCP;unicast;interleaved=0-1"));
        Assert.Empty(LeftOpen(c));
    }

    [Fact]
    public void AnswerToAnUnknownCSeq_ChangesNothing()
    {
        RtspConversation c = Connect().ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001"));
        int before = c.Changes.Count;
        c.ServerSends(Reply(4, "RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Equal(before, c.Changes.Count);
    }

    [Fact]
    public void AnswerWithoutClientPorts_TakesThemFromTheOneUdpOffer()
    {
        RtspConversation c = Connect()
            .ClientSends(Setup(3, "RTP/AVP/TCP;interleaved=0-1, RTP/AVP;unicast;client_port=7000-7001"))
            .ServerSends(Reply(3, "RTP/AVP;unicast;server_port=6970-6971"));
        Assert.Equal([Port(7000), Port(7001)], Of(c, MediaChangeKind.Open).Select(x => x.Opening));
    }

    [Theory]
    [InlineData("RTP/AVP;unicast;client_port=5000-5003", "RTP/AVP;unicast;client_port=5000-5003")] // more than a pair
    [InlineData("RTP/AVP;unicast;client_port=1000-1001", "RTP/AVP;unicast;client_port=1000-1001")] // privileged: the policy refuses
    [InlineData("RTP/AVP;unicast;client_port=5350-5351", "RTP/AVP;unicast;client_port=5350-5351")] // one of them reserved
    [InlineData("RTP/AVP;unicast;destination=192.168.77.11;client_port=5000-5001", "RTP/AVP;unicast;destination=192.168.77.11;client_port=5000-5001")] // for another host
    [InlineData("RTP/AVP/TCP;unicast;interleaved=0-1", "RTP/AVP/TCP;unicast;interleaved=0-1")] // media on the control connection
    [InlineData("RTP/AVP;multicast;client_port=5000-5001", "RTP/AVP;multicast;port=5000-5001")]
    [InlineData("RTP/AVP;unicast;client_port=5000-5001", "RTP/AVP;unicast;client_port=5000-5001,RTP/AVP;unicast;client_port=6000-6001")] // two answers
    [InlineData("RTP/AVP;unicast;client_port=5000-5001", "RTP/AVP;unicast;client_port=x")]
    [InlineData("RTP/AVP;unicast;client_port=5000-5001", null)]
    public void Setup_ThatMustNotOpen_LeavesNothingOpen(string offer, string? answer)
    {
        RtspConversation c = Connect().ClientSends(Setup(3, offer)).ServerSends(Reply(3, answer));
        Assert.Empty(LeftOpen(c));
        Assert.Equal(0, _tracker.OpenPorts);
    }

    [Theory]
    [InlineData("RTP/AVP;unicast;client_port=5000-5003")]
    [InlineData("RTP/AVP;unicast;client_port=1000-1001")]
    [InlineData("RTP/AVP;unicast;destination=192.168.77.11;client_port=5000-5001")]
    [InlineData("RTP/AVP/TCP;unicast;interleaved=0-1")]
    [InlineData("RTP/AVP;multicast;client_port=5000-5001")]
    public void Request_ThatMustNotOpen_OpensNothingEvenForAMoment(string offer)
    {
        RtspConversation c = Connect().ClientSends(Setup(3, offer));
        Assert.Empty(c.Changes);
    }

    [Fact]
    public void DestinationOfTheClientItself_IsFine()
    {
        RtspConversation c = Connect().ClientSends(Setup(3, "RTP/AVP;unicast;destination=192.168.77.10;client_port=5000-5001"))
            .ServerSends(Reply(3, "RTP/AVP;unicast;destination=192.168.77.10;client_port=5000-5001"));
        Assert.Equal(2, Of(c, MediaChangeKind.Open).Length);
    }

    [Fact]
    public void SamePortsFromTheSameServer_ForASecondClient_AreRefused_UntilTheFirstLetsGo()
    {
        RtspConversation first = PlayedSession();
        RtspConversation second = Connect(s_client2, 41000)
            .ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001", session: "other"));
        Assert.Equal(2, first.Changes.Count);
        Assert.Empty(LeftOpen(second));

        first.ClientFin();
        second.ClientSends(Setup(4, "RTP/AVP;unicast;client_port=5000-5001", "other")).ServerSends(Reply(4, "RTP/AVP;unicast;client_port=5000-5001", session: "other"));
        Assert.Equal([Port(5000, s_client2), Port(5001, s_client2)], second.Changes.Where(x => x.Kind == MediaChangeKind.Open && x.Opening.Client.Equals(s_client2)).Select(x => x.Opening));
    }

    [Fact]
    public void SamePortsOverIPv6_AreEachClientsOwn()
    {
        IPAddress server6 = IPAddress.Parse("2001:db8:ffff::2");
        var a = new RtspConversation(_tracker, IPAddress.Parse("2001:db8:77::10"), 40000, server6).Handshake();
        var b = new RtspConversation(_tracker, IPAddress.Parse("2001:db8:77::11"), 40000, server6).Handshake();
        a.ClientSends(Setup(1, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(1, "RTP/AVP;unicast;client_port=5000-5001"));
        b.ClientSends(Setup(1, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(1, "RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Equal(4, _tracker.OpenPorts);
    }

    [Fact]
    public void ConnectionNotSeenFromItsSyn_IsNeverRead()
    {
        var c = new RtspConversation(_tracker, s_client, 40014, s_server);
        c.ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Empty(c.Changes);
        Assert.Equal(0, _tracker.Connections);
    }

    [Fact]
    public void LostCopy_StopsReadingThatDirection()
    {
        RtspConversation c = Connect().ClientLoses("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
            .ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Empty(c.Changes);

        // From the server: what the request opened stays until the connection ends, as nothing more can be read.
        RtspConversation s = Connect(port: 40100).ClientSends(Setup(3, "RTP/AVP;unicast;client_port=6000-6001"));
        s.ServerSendsBytes([]).ClientFin();
        Assert.Empty(LeftOpen(s));
    }

    [Fact]
    public void Retransmission_IsReadOnce()
    {
        string setup = Setup(3, "RTP/AVP;unicast;client_port=5000-5001");
        RtspConversation c = Connect().ClientSends(setup).ClientRetransmits(setup).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Equal(2, c.Changes.Count);
        c.ClientSends(Request("TEARDOWN", 4));
        Assert.Equal(2, Of(c, MediaChangeKind.Close).Length);
    }

    [Fact]
    public void MalformedRequest_StopsReadingTheConnection_SoALaterSetupOpensNothing()
    {
        RtspConversation c = Connect().ClientSends("SETUP rtsp://x RTSP/1.0\r\nCSeq: three\r\n\r\n")
            .ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001")).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Empty(c.Changes);
    }

    [Fact]
    public void NotRtspAtAll_OpensNothing()
    {
        RtspConversation c = Connect().ClientSends("GET / HTTP/1.1\r\nHost: 203.0.113.2\r\n\r\n")
            .ServerSends("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        Assert.Empty(c.Changes);
    }

    [Fact]
    public void SetupInsideABody_IsNotARequest()
    {
        // NAT slipstreaming: text that looks like a request, placed where only body octets can be.
        string smuggled = Setup(3, "RTP/AVP;unicast;client_port=5000-5001");
        RtspConversation c = Connect()
            .ClientSends($"SET_PARAMETER {Uri} RTSP/1.0\r\nCSeq: 2\r\nContent-Length: {smuggled.Length}\r\n\r\n{smuggled}")
            .ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Empty(c.Changes);
    }

    [Fact]
    public void InterleavedFramesFromTheServer_AreSkippedWithoutLosingTheNextAnswer()
    {
        RtspConversation c = Connect().ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5000-5001"));
        byte[] frame = new byte[4 + 600];
        frame[0] = (byte)'$';
        frame[2] = 600 >> 8;
        frame[3] = 600 & 0xFF;
        c.ServerSendsBytes(frame[..300]).ServerSendsBytes(frame[300..]).ServerSends(Reply(3, "RTP/AVP;unicast;client_port=5000-5001"));
        Assert.Equal(2, c.Changes.Count);
    }

    [Fact]
    public void ControlConnectionsPerClient_AreCapped()
    {
        for (ushort port = 40000; port < 40004; port++)
        {
            Connect(port: port);
        }

        Assert.Equal(3, _tracker.Connections);
    }

    [Fact]
    public void SetupAgain_ReplacesTheStreamsPorts()
    {
        RtspConversation c = PlayedSession();
        c.Changes.Clear();
        c.ClientSends(Setup(3, "RTP/AVP;unicast;client_port=5004-5005", "XHBD29KKp-Qxk+mL").Replace("RTSP/1.0\r\nCSeq: 3", "RTSP/1.0\r\nCSeq: 7", StringComparison.Ordinal))
            .ServerSends(Reply(7, "RTP/AVP;unicast;client_port=5004-5005"));
        Assert.Equal([Port(5000), Port(5001)], Of(c, MediaChangeKind.Close).Select(x => x.Opening));
        Assert.Equal([Port(5004), Port(5005)], Of(c, MediaChangeKind.Open).Select(x => x.Opening));
        Assert.Equal(2, _tracker.OpenPorts);
    }
}
