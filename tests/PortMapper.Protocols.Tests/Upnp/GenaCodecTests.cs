using System.Net;
using System.Text;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Protocols.Tests.Upnp;

public class GenaCodecTests
{
    private static readonly IPAddress s_subscriber = IPAddress.Parse("192.168.77.10");

    [Theory]
    [InlineData("<http://192.168.77.10:9000/evt>")]
    [InlineData("<http://192.168.77.10/>")]
    [InlineData(" <http://192.168.77.10:9000/a> <http://192.168.77.10:9001/b> ")]
    public void Callback_OfTheSubscriberItself_IsAccepted(string header)
    {
        Assert.True(GenaCodec.TryParseCallback(header, s_subscriber, out Uri? callback));
        Assert.Equal("192.168.77.10", callback!.Host);
    }

    [Theory]
    [InlineData("<http://192.168.77.11:9000/>")] // another LAN host
    [InlineData("<http://203.0.113.2/>")] // the WAN: CallStranger
    [InlineData("<http://127.0.0.1:8470/api>")] // the gateway itself
    [InlineData("<http://victim.example/>")] // a name: never looked up
    [InlineData("<https://192.168.77.10/>")]
    [InlineData("<ftp://192.168.77.10/>")]
    [InlineData("<http://user@192.168.77.10/>")]
    [InlineData("<http://192.168.77.10/> <http://203.0.113.2/>")] // one bad URL spoils the lot
    [InlineData("http://192.168.77.10/")]
    [InlineData("<http://192.168.77.10/")]
    [InlineData("<http://192.168.77.10/a b>")] // a space would split the NOTIFY request line
    [InlineData("<http://192.168.77.10/\r\nHost: x>")]
    [InlineData("<http://192.168.77.10/\u00e9t\u00e9>")] // raw non-ASCII: a URL percent-encodes it itself
    [InlineData("")]
    [InlineData(null)]
    public void Callback_PointingAnywhereElse_IsRefused(string? header)
    {
        Assert.False(GenaCodec.TryParseCallback(header, s_subscriber, out Uri? callback));
        Assert.Null(callback);
    }

    [Fact]
    public void Callback_LongerThanTheLimit_IsRefused()
    {
        string path = new('a', GenaCodec.MaxCallbackLength);
        Assert.False(GenaCodec.TryParseCallback($"<http://192.168.77.10/{path}>", s_subscriber, out _));
        Assert.True(GenaCodec.TryParseCallback($"<http://192.168.77.10/{path[..400]}>", s_subscriber, out _));
    }

    [Fact]
    public void Callback_IPv6Subscriber_ComparesWithoutScope()
    {
        IPAddress linkLocal = IPAddress.Parse("fe80::10%3");
        Assert.True(GenaCodec.TryParseCallback("<http://[fe80::10]:9000/>", linkLocal, out _));
        Assert.False(GenaCodec.TryParseCallback("<http://[fe80::11]:9000/>", linkLocal, out _));
    }

    [Theory]
    [InlineData("Second-1800", 1800)]
    [InlineData("Second-10", GenaCodec.MinTimeoutSeconds)]
    [InlineData("Second-999999", GenaCodec.MaxTimeoutSeconds)]
    [InlineData("infinite", GenaCodec.MaxTimeoutSeconds)]
    [InlineData(null, GenaCodec.MaxTimeoutSeconds)]
    [InlineData("Second--5", GenaCodec.MaxTimeoutSeconds)]
    public void Timeout_IsClamped(string? header, int expected) => Assert.Equal(expected, GenaCodec.ParseTimeout(header));

    [Fact]
    public void PropertySet_IsTheGoldenDocument()
    {
        string body = GenaCodec.PropertySet([new("ExternalIPAddress", "203.0.113.1"), new("PortMappingNumberOfEntries", "2")]);
        Assert.Equal(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">"
            + "<e:property><ExternalIPAddress>203.0.113.1</ExternalIPAddress></e:property>"
            + "<e:property><PortMappingNumberOfEntries>2</PortMappingNumberOfEntries></e:property></e:propertyset>\r\n",
            body);
    }

    [Fact]
    public void Notify_HasGenaHeadersAndExactLength()
    {
        byte[] request = GenaCodec.Notify(new Uri("http://192.168.77.10:9000/evt?x=1"), "uuid:s", 7, "<a>é</a>");
        string text = Encoding.UTF8.GetString(request);
        Assert.StartsWith("NOTIFY /evt?x=1 HTTP/1.1\r\nHOST: 192.168.77.10:9000\r\n", text, StringComparison.Ordinal);
        Assert.Contains("NT: upnp:event\r\nNTS: upnp:propchange\r\nSID: uuid:s\r\nSEQ: 7\r\n", text, StringComparison.Ordinal);
        Assert.Contains("CONTENT-LENGTH: 9\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n<a>é</a>", text, StringComparison.Ordinal);
    }
}
