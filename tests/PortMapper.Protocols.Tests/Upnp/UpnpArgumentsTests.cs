using System.Net;
using System.Net.Sockets;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Protocols.Tests.Upnp;

public class UpnpArgumentsTests
{
    [Theory]
    [InlineData("0", true, 0)]
    [InlineData("65535", true, 65535)]
    [InlineData(" 8080 ", true, 8080)]
    [InlineData("65536", false, 0)]
    [InlineData("-1", false, 0)]
    [InlineData("+80", false, 0)]
    [InlineData("0x50", false, 0)]
    [InlineData("80.0", false, 0)]
    [InlineData("", false, 0)]
    [InlineData(null, false, 0)]
    [InlineData("99999999999999999999", false, 0)]
    public void Port_IsStrict(string? text, bool ok, int expected)
    {
        Assert.Equal(ok, UpnpArguments.TryPort(text, out ushort port));
        Assert.Equal(expected, port);
    }

    [Theory]
    [InlineData("tcp", MappingProtocol.Tcp)]
    [InlineData("TCP", MappingProtocol.Tcp)]
    [InlineData("Udp", MappingProtocol.Udp)]
    public void Protocol_IsCaseInsensitive(string text, MappingProtocol expected)
    {
        Assert.True(UpnpArguments.TryProtocol(text, out MappingProtocol protocol));
        Assert.Equal(expected, protocol);
    }

    [Theory]
    [InlineData("SCTP")]
    [InlineData("6")]
    [InlineData("")]
    public void Protocol_Other_IsRefused(string text) => Assert.False(UpnpArguments.TryProtocol(text, out _));

    [Theory]
    [InlineData("1", true, true)]
    [InlineData("true", true, true)]
    [InlineData("YES", true, true)]
    [InlineData("0", true, false)]
    [InlineData("no", true, false)]
    [InlineData("2", false, false)]
    [InlineData("", false, false)]
    public void Boolean_TakesTheUpnpForms(string text, bool ok, bool expected)
    {
        Assert.Equal(ok, UpnpArguments.TryBoolean(text, out bool value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("192.168.77.10", true)]
    [InlineData("1", false)] // IPAddress.TryParse would make it 0.0.0.1
    [InlineData("192.168.1", false)]
    [InlineData("0x7f.1", false)]
    [InlineData("router.lan", false)] // names are never looked up
    [InlineData("2001:db8::1", false)] // wrong family
    [InlineData("", false)]
    public void Address_IsADottedQuadLiteral(string text, bool ok) =>
        Assert.Equal(ok, UpnpArguments.TryAddress(text, AddressFamily.InterNetwork, out _));

    [Theory]
    [InlineData("", true, null)]
    [InlineData("*", true, null)]
    [InlineData("203.0.113.9", true, "203.0.113.9")]
    [InlineData("example.com", false, null)]
    public void RemoteHost_EmptyIsTheWildcard(string text, bool ok, string? expected)
    {
        Assert.Equal(ok, UpnpArguments.TryRemoteHost(text, AddressFamily.InterNetwork, out IPAddress? host));
        Assert.Equal(expected, host?.ToString());
    }

    [Theory]
    [InlineData("Skype TCP 443", "Skype TCP 443")]
    [InlineData("a\r\nb\tc\u0000d", "a b c d")]
    [InlineData("\u001b[31mred\u001b[0m", "[31mred [0m")]
    [InlineData("rtl\u202Eevil", "rtl evil")]
    [InlineData("  padded  ", "padded")]
    [InlineData(null, "")]
    public void Description_LosesControlAndFormatCharacters(string? text, string expected) =>
        Assert.Equal(expected, UpnpArguments.SanitizeDescription(text));

    [Fact]
    public void Description_IsCutAtTheLimitWithoutSplittingACharacter()
    {
        string text = new string('x', UpnpArguments.MaxDescriptionLength - 1) + "😀tail";
        string clean = UpnpArguments.SanitizeDescription(text);
        Assert.True(clean.Length <= UpnpArguments.MaxDescriptionLength);
        Assert.False(char.IsHighSurrogate(clean[^1]));
    }
}
