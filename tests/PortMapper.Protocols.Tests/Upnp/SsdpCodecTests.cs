using System.Text;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Protocols.Tests.Upnp;

public class SsdpCodecTests
{
    private static readonly (RootDevice Igd1, RootDevice Igd2) s_roots = RootDevice.Create(Guid.Parse("00000000-0000-0000-0000-0000000000aa"));

    private static byte[] Search(string st, string mx = "2", string man = "\"ssdp:discover\"") =>
        Encoding.ASCII.GetBytes($"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: {man}\r\nMX: {mx}\r\nST: {st}\r\n\r\n");

    [Fact]
    public void Decode_MulticastSearch_ReadsTargetAndMx()
    {
        Assert.Equal(SsdpDecodeError.None, SsdpCodec.TryDecodeSearch(Search("upnp:rootdevice"), multicast: true, out SsdpSearch? search));
        Assert.Equal(new SsdpSearch("upnp:rootdevice", 2), search);
    }

    [Theory]
    [InlineData("0", 1)]
    [InlineData("120", 5)]
    public void Decode_Mx_IsClampedToOneToFive(string mx, int expected)
    {
        Assert.Equal(SsdpDecodeError.None, SsdpCodec.TryDecodeSearch(Search("ssdp:all", mx), multicast: true, out SsdpSearch? search));
        Assert.Equal(expected, search!.Mx);
    }

    [Fact]
    public void Decode_LowercaseHeaderNames_AreAccepted()
    {
        byte[] datagram = Encoding.ASCII.GetBytes("M-SEARCH * HTTP/1.1\r\nhost:239.255.255.250:1900\r\nman:\"ssdp:discover\"\r\nmx:1\r\nst:ssdp:all\r\n\r\n");
        Assert.Equal(SsdpDecodeError.None, SsdpCodec.TryDecodeSearch(datagram, multicast: true, out SsdpSearch? search));
        Assert.Equal("ssdp:all", search!.SearchTarget);
    }

    [Fact]
    public void Decode_UnicastSearchWithoutMx_IsAnsweredAtOnce()
    {
        byte[] datagram = Encoding.ASCII.GetBytes("M-SEARCH * HTTP/1.1\r\nHOST: 192.168.77.1:1900\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\r\n");
        Assert.Equal(SsdpDecodeError.None, SsdpCodec.TryDecodeSearch(datagram, multicast: false, out SsdpSearch? search));
        Assert.Null(search!.Mx);
        Assert.Equal(SsdpDecodeError.BadMx, SsdpCodec.TryDecodeSearch(datagram, multicast: true, out _));
    }

    [Theory]
    [InlineData("NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\n", SsdpDecodeError.NotSearch)]
    [InlineData("HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n", SsdpDecodeError.NotSearch)]
    [InlineData("M-SEARCH * HTTP/1.0\r\n\r\n", SsdpDecodeError.Malformed)]
    [InlineData("M-SEARCH * HTTP/1.1\r\nno colon here\r\n\r\n", SsdpDecodeError.Malformed)]
    [InlineData("GET / HTTP/1.1\r\n\r\n", SsdpDecodeError.NotSearch)]
    [InlineData("\u0001\u0002", SsdpDecodeError.Malformed)]
    public void Decode_OtherDatagrams_AreNotAnswered(string datagram, SsdpDecodeError expected)
    {
        Assert.Equal(expected, SsdpCodec.TryDecodeSearch(Encoding.ASCII.GetBytes(datagram), multicast: true, out SsdpSearch? search));
        Assert.Null(search);
    }

    [Fact]
    public void Decode_BadManMxOrNoTarget_AreRejected()
    {
        Assert.Equal(SsdpDecodeError.BadMan, SsdpCodec.TryDecodeSearch(Search("ssdp:all", man: "ssdp:discover"), true, out _));
        Assert.Equal(SsdpDecodeError.BadMx, SsdpCodec.TryDecodeSearch(Search("ssdp:all", mx: "soon"), true, out _));
        Assert.Equal(SsdpDecodeError.NoSearchTarget, SsdpCodec.TryDecodeSearch(Search(""), true, out _));
        Assert.Equal(SsdpDecodeError.Malformed, SsdpCodec.TryDecodeSearch(new byte[3000], true, out _));
    }

    [Fact]
    public void Match_SsdpAll_AnswersEveryIgd1AdvertisementAndNoIgd2()
    {
        List<SsdpTarget> answers = SsdpCodec.Match("ssdp:all", s_roots.Igd1, s_roots.Igd2);
        Assert.Equal(10, answers.Count); // rootdevice + 3 UUIDs + 3 device types + 3 service types
        Assert.All(answers, a => Assert.Equal(1, a.Root.IgdVersion));
        Assert.Contains(answers, a => a.Target == "urn:schemas-upnp-org:service:WANIPConnection:1");
    }

    [Theory]
    [InlineData("upnp:rootdevice", 1)]
    [InlineData("urn:schemas-upnp-org:device:InternetGatewayDevice:1", 1)]
    [InlineData("urn:schemas-upnp-org:device:WANDevice:1", 1)]
    [InlineData("urn:schemas-upnp-org:device:WANConnectionDevice:1", 1)]
    [InlineData("urn:schemas-upnp-org:service:WANIPConnection:1", 1)]
    [InlineData("urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1", 1)]
    [InlineData("urn:schemas-upnp-org:service:Layer3Forwarding:1", 1)]
    [InlineData("urn:schemas-upnp-org:device:InternetGatewayDevice:2", 2)]
    [InlineData("urn:schemas-upnp-org:device:WANDevice:2", 2)]
    [InlineData("urn:schemas-upnp-org:device:WANConnectionDevice:2", 2)]
    [InlineData("urn:schemas-upnp-org:service:WANIPConnection:2", 2)]
    [InlineData("urn:schemas-upnp-org:service:WANIPv6FirewallControl:1", 2)]
    public void Match_EachType_PointsToTheRightDescription(string target, int igdVersion)
    {
        SsdpTarget answer = Assert.Single(SsdpCodec.Match(target, s_roots.Igd1, s_roots.Igd2));
        Assert.Equal(igdVersion, answer.Root.IgdVersion);
        Assert.Equal(target, answer.Target);
        Assert.EndsWith("::" + target, answer.Usn, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_Uuid_FindsThatDevice()
    {
        string udn = s_roots.Igd2.Devices.Last().Udn;
        SsdpTarget answer = Assert.Single(SsdpCodec.Match(udn, s_roots.Igd1, s_roots.Igd2));
        Assert.Equal(udn, answer.Usn);
        Assert.Equal(2, answer.Root.IgdVersion);
    }

    [Theory]
    [InlineData("urn:schemas-upnp-org:service:WANIPConnection:3")]
    [InlineData("urn:schemas-upnp-org:device:MediaServer:1")]
    [InlineData("uuid:00000000-0000-0000-0000-000000000000")]
    [InlineData("something")]
    public void Match_UnknownTargets_GetNothing(string target) => Assert.Empty(SsdpCodec.Match(target, s_roots.Igd1, s_roots.Igd2));

    [Fact]
    public void Advertisements_OnlyIgd1AnnouncesRootDevice()
    {
        Assert.Contains(SsdpCodec.Advertisements(s_roots.Igd1), t => t.Target == "upnp:rootdevice");
        Assert.DoesNotContain(SsdpCodec.Advertisements(s_roots.Igd2), t => t.Target == "upnp:rootdevice");
        Assert.Contains(SsdpCodec.Advertisements(s_roots.Igd2), t => t.Target == "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1");
    }

    [Fact]
    public void Response_HasEveryRequiredHeader()
    {
        var identity = new SsdpIdentity("Linux UPnP/1.1 PortMapper/1.0", 1800, 42, 1);
        SsdpTarget target = SsdpCodec.Match("upnp:rootdevice", s_roots.Igd1, s_roots.Igd2)[0];
        string response = SsdpCodec.Response(target, "http://192.168.77.1:5000/rootDesc.xml", identity, DateTimeOffset.UnixEpoch);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("CACHE-CONTROL: max-age=1800\r\n", response, StringComparison.Ordinal);
        Assert.Contains("EXT:\r\n", response, StringComparison.Ordinal);
        Assert.Contains("LOCATION: http://192.168.77.1:5000/rootDesc.xml\r\n", response, StringComparison.Ordinal);
        Assert.Contains("ST: upnp:rootdevice\r\n", response, StringComparison.Ordinal);
        Assert.Contains($"USN: {s_roots.Igd1.Device.Udn}::upnp:rootdevice\r\n", response, StringComparison.Ordinal);
        Assert.Contains("BOOTID.UPNP.ORG: 42\r\n", response, StringComparison.Ordinal);
        Assert.Contains("CONFIGID.UPNP.ORG: 1\r\n", response, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", response, StringComparison.Ordinal);
    }

    [Fact]
    public void AliveAndByeBye_CarryNts()
    {
        var identity = new SsdpIdentity("S", 1800, 1, 1);
        SsdpTarget target = SsdpCodec.Advertisements(s_roots.Igd1)[0];
        Assert.Contains("NTS: ssdp:alive\r\n", SsdpCodec.Alive(target, "http://x/", identity), StringComparison.Ordinal);
        string bye = SsdpCodec.ByeBye(target, identity);
        Assert.Contains("NTS: ssdp:byebye\r\n", bye, StringComparison.Ordinal);
        Assert.DoesNotContain("LOCATION", bye, StringComparison.Ordinal);
    }

    [Fact]
    public void Ipv6Messages_NameTheIpv6GroupInBrackets()
    {
        var identity = new SsdpIdentity("S", 1800, 1, 1);
        SsdpTarget target = SsdpCodec.Advertisements(s_roots.Igd1)[0];
        Assert.Contains("HOST: [FF02::C]:1900\r\n", SsdpCodec.Alive(target, "http://[2001:db8:77::1]:5000/rootDesc.xml", identity, ipv6: true), StringComparison.Ordinal);
        Assert.Contains("HOST: [FF02::C]:1900\r\n", SsdpCodec.ByeBye(target, identity, ipv6: true), StringComparison.Ordinal);
        Assert.Contains("HOST: 239.255.255.250:1900\r\n", SsdpCodec.ByeBye(target, identity), StringComparison.Ordinal);
    }
}
