namespace PortMapper.Protocols.Tests.Rtsp;

/// <summary>Messages as GStreamer 1.22's rtspsrc and gst-rtsp-server exchanged them in the lab (captured with tcpdump).</summary>
internal static class RtspMessages
{
    public const string Setup =
        "SETUP rtsp://203.0.113.2:554/test/stream=0 RTSP/1.0\r\n" +
        "CSeq: 3\r\n" +
        "User-Agent: GStreamer/1.22.0\r\n" +
        "Transport: RTP/AVP;unicast;client_port=5000-5001\r\n" +
        "Date: Tue, 01 Dec 2026 21:26:26 GMT\r\n" +
        "\r\n";

    public const string SetupReply =
        "RTSP/1.0 200 OK\r\n" +
        "CSeq: 3\r\n" +
        "Transport: RTP/AVP;unicast;client_port=5000-5001;server_port=43894-43895;ssrc=D1783F81;mode=\"PLAY\"\r\n" +
        "Server: GStreamer RTSP server\r\n" +
        "Session: XHBD29KKp-Qxk+mL\r\n" +
        "Date: Tue, 01 Dec 2026 21:26:26 GMT\r\n" +
        "\r\n";

    public const string DescribeReply =
        "RTSP/1.0 200 OK\r\n" +
        "CSeq: 2\r\n" +
        "Content-Type: application/sdp\r\n" +
        "Content-Base: rtsp://203.0.113.2:554/test/\r\n" +
        "Content-Length: 45\r\n" +
        "\r\n" +
        "v=0\r\no=- 1 1 IN IP4 203.0.113.2\r\ns=x\r\nt=0 0\r\n";

    public const string Play =
        "PLAY rtsp://203.0.113.2:554/test/ RTSP/1.0\r\n" +
        "CSeq: 4\r\n" +
        "Range: npt=now-\r\n" +
        "Session: XHBD29KKp-Qxk+mL\r\n" +
        "\r\n";

    public const string Teardown =
        "TEARDOWN rtsp://203.0.113.2:554/test/ RTSP/1.0\r\n" +
        "CSeq: 6\r\n" +
        "Session: XHBD29KKp-Qxk+mL\r\n" +
        "\r\n";
}
