using System.Net;
using PortMapper.Protocols.Mdns;

namespace PortMapper.Protocols.Tests.Mdns;

public class MdnsCodecTests
{
    // ID 0, flags 0, one question: _http._tcp.local PTR IN, then a second question "x" + pointer to "_tcp.local" (offset 18), TXT, QU.
    private static readonly byte[] s_query =
    [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x05, (byte)'_', (byte)'h', (byte)'t', (byte)'t', (byte)'p', 0x04, (byte)'_', (byte)'t', (byte)'c', (byte)'p', 0x05, (byte)'l', (byte)'o', (byte)'c', (byte)'a', (byte)'l', 0x00,
        0x00, 0x0c, 0x00, 0x01,
        0x01, (byte)'x', 0xC0, 18,
        0x00, 0x10, 0x80, 0x01,
    ];

    private static readonly ServiceAdvertisement s_service =
        new("PortMapper on r1", "_http._tcp", "r1-portmapper", IPAddress.Parse("192.168.77.1"), 8470, "path=/");

    [Fact]
    public void ReadQuery_FollowsCompressionPointers_AndReadsTheQuBit()
    {
        Assert.Equal(MdnsDecodeError.None, MdnsCodec.TryReadQuery(s_query, out ushort id, out List<MdnsQuestion> questions));
        Assert.Equal(0, id);
        Assert.Equal(new MdnsQuestion("_http._tcp.local", DnsType.Ptr, false), questions[0]);
        Assert.Equal(new MdnsQuestion("x._tcp.local", DnsType.Txt, true), questions[1]);
    }

    [Fact]
    public void ReadQuery_EveryPrefix_IsRejectedNotThrown()
    {
        for (int length = 0; length < s_query.Length; length++)
        {
            Assert.NotEqual(MdnsDecodeError.None, MdnsCodec.TryReadQuery(s_query.AsSpan(0, length), out _, out _));
        }
    }

    [Fact]
    public void ReadQuery_PointerLoopOrForwardPointer_IsABadName()
    {
        byte[] loop = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1];
        Assert.Equal(MdnsDecodeError.BadName, MdnsCodec.TryReadQuery(loop, out _, out _));
        byte[] forward = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 40, 0, 1, 0, 1];
        Assert.Equal(MdnsDecodeError.BadName, MdnsCodec.TryReadQuery(forward, out _, out _));
    }

    [Fact]
    public void ReadQuery_Response_IsNotAQuery()
    {
        byte[] response = [.. s_query];
        response[2] = 0x84;
        Assert.Equal(MdnsDecodeError.NotQuery, MdnsCodec.TryReadQuery(response, out _, out _));
    }

    [Fact]
    public void Answer_PtrQuestion_GivesPtrWithSrvTxtAndAAsAdditional()
    {
        var (answers, additional) = s_service.Answer(new MdnsQuestion("_HTTP._tcp.local", DnsType.Ptr, false));
        Assert.Equal([s_service.Ptr], answers);
        Assert.Equal([s_service.Srv, s_service.Txt, s_service.A], additional);
        Assert.Empty(s_service.Answer(new MdnsQuestion("_ipp._tcp.local", DnsType.Ptr, false)).Answers);
        Assert.Equal([s_service.A], s_service.Answer(new MdnsQuestion("r1-portmapper.local", DnsType.A, false)).Answers);
        Assert.Equal([s_service.Enumeration], s_service.Answer(new MdnsQuestion(ServiceAdvertisement.ServicesName, DnsType.Ptr, false)).Answers);
    }

    [Fact]
    public void WriteResponse_IsTheGoldenWireForm()
    {
        byte[] response = MdnsCodec.WriteResponse(0x1234, [], [s_service.A], []);
        byte[] expected =
        [
            0x12, 0x34, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            0x0d, .. "r1-portmapper"u8, 0x05, .. "local"u8, 0x00,
            0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 192, 168, 77, 1,
        ];
        Assert.Equal(expected, response);
        byte[] srv = MdnsCodec.Srv(8470, "h.local");
        Assert.Equal([0, 0, 0, 0, 0x21, 0x16, 1, (byte)'h', 5, .. "local"u8, 0], srv);
        Assert.Equal([6, .. "path=/"u8], MdnsCodec.Txt("path=/"));
    }
}
