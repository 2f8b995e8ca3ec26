using System.Text;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Protocols.Tests.Upnp;

public class SoapTests
{
    private const string AddPortMapping =
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
        + "<s:Body><u:AddPortMapping xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">"
        + "<NewRemoteHost></NewRemoteHost><NewExternalPort>8080</NewExternalPort><NewProtocol>TCP</NewProtocol>"
        + "<NewInternalPort>80</NewInternalPort><NewInternalClient>192.168.77.10</NewInternalClient><NewEnabled>1</NewEnabled>"
        + "<NewPortMappingDescription>web &amp; more</NewPortMappingDescription><NewLeaseDuration>0</NewLeaseDuration>"
        + "</u:AddPortMapping></s:Body></s:Envelope>\r\n";

    [Fact]
    public void Read_AddPortMapping_GivesServiceActionAndArguments()
    {
        Assert.Equal(SoapRejection.None, SoapReader.TryRead(Encoding.UTF8.GetBytes(AddPortMapping), out SoapCall? call));
        Assert.Equal("urn:schemas-upnp-org:service:WANIPConnection:1", call!.ServiceType);
        Assert.Equal("AddPortMapping", call.ActionName);
        Assert.Equal(8, call.Arguments.Count);
        Assert.Equal("", call.Get("NewRemoteHost"));
        Assert.Equal("web & more", call.Get("NewPortMappingDescription"));
        Assert.Null(call.Get("NewMissing"));
    }

    [Fact]
    public void Read_WithSoapHeader_SkipsIt()
    {
        string body = AddPortMapping.Replace("<s:Body>", "<s:Header><x:Auth xmlns:x=\"urn:x\">t</x:Auth></s:Header><s:Body>", StringComparison.Ordinal);
        Assert.Equal(SoapRejection.None, SoapReader.TryRead(Encoding.UTF8.GetBytes(body), out SoapCall? call));
        Assert.Equal("AddPortMapping", call!.ActionName);
    }

    [Fact]
    public void Read_ExternalEntity_IsRefusedWithoutReadingTheFile()
    {
        string xxe = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            + "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:GetExternalIPAddress xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">&x;</u:GetExternalIPAddress></s:Body></s:Envelope>";
        Assert.Equal(SoapRejection.DtdProhibited, SoapReader.TryRead(Encoding.UTF8.GetBytes(xxe), out SoapCall? call));
        Assert.Null(call);
    }

    [Fact]
    public void Read_BillionLaughs_IsRefused()
    {
        string bomb = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
            + "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:X xmlns:u=\"urn:x\"><A>&c;</A></u:X></s:Body></s:Envelope>";
        Assert.Equal(SoapRejection.DtdProhibited, SoapReader.TryRead(Encoding.UTF8.GetBytes(bomb), out _));
    }

    [Theory]
    [InlineData("not xml at all", SoapRejection.NotXml)]
    [InlineData("<a:Envelope xmlns:a=\"urn:other\"><a:Body/></a:Envelope>", SoapRejection.NotSoapEnvelope)]
    [InlineData("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"/>", SoapRejection.NotSoapEnvelope)]
    [InlineData("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body/></s:Envelope>", SoapRejection.NoAction)]
    [InlineData("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><Action/></s:Body></s:Envelope>", SoapRejection.NoAction)]
    [InlineData("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:A xmlns:u=\"urn:x\"><B><C/></B></u:A></s:Body></s:Envelope>", SoapRejection.BadArgument)]
    [InlineData("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:A xmlns:u=\"urn:x\"><B>1</B><B>2</B></u:A></s:Body></s:Envelope>", SoapRejection.BadArgument)]
    [InlineData("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><u:A xmlns:u=\"urn:x\"/></s:Body></s:Envelope><trailing/>", SoapRejection.NotXml)]
    public void Read_MalformedBody_IsRejectedWithItsReason(string body, SoapRejection expected)
    {
        Assert.Equal(expected, SoapReader.TryRead(Encoding.UTF8.GetBytes(body), out SoapCall? call));
        Assert.Null(call);
    }

    [Fact]
    public void Read_EveryPrefixOfAValidRequest_IsRejectedNotThrown()
    {
        byte[] valid = Encoding.UTF8.GetBytes(AddPortMapping.TrimEnd());
        for (int length = 0; length < valid.Length - 1; length++)
        {
            Assert.NotEqual(SoapRejection.None, SoapReader.TryRead(valid.AsMemory(0, length), out _));
        }
    }

    [Fact]
    public void Write_Response_IsTheGoldenEnvelope()
    {
        string response = SoapWriter.Response("urn:schemas-upnp-org:service:WANIPConnection:1", "GetExternalIPAddress",
            [new("NewExternalIPAddress", "203.0.113.1")]);
        Assert.Equal(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
            + "<u:GetExternalIPAddressResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\"><NewExternalIPAddress>203.0.113.1</NewExternalIPAddress>"
            + "</u:GetExternalIPAddressResponse></s:Body></s:Envelope>\r\n",
            response);
    }

    [Fact]
    public void Write_Fault_CarriesUpnpErrorCodeAndDescription()
    {
        string fault = SoapWriter.Fault(new UpnpError(UpnpErrorCode.ConflictInMappingEntry, "ConflictInMappingEntry"));
        Assert.Contains("<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">"
            + "<errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault>", fault, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_Response_EscapesValues()
    {
        string response = SoapWriter.Response("urn:x", "A", [new("V", "<a href=\"x\">&'")]);
        Assert.Contains("<V>&lt;a href=&quot;x&quot;&gt;&amp;&apos;</V>", response, StringComparison.Ordinal);
    }

    [Fact]
    public void Escape_CharactersXmlForbids_BecomeReplacementCharacters_PairsStay()
    {
        // Found by fuzzing (conformance/fuzz/regressions/gena): a control character in a value made the whole
        // property set (or a port-mapping listing) unreadable XML.
        string response = SoapWriter.Response("urn:x", "A", [new("V", "a\u0000b\u001Fc\tz\uD800y\uFFFE\U0001F600")]);
        Assert.Contains("<V>a\uFFFDb\uFFFDc\tz\uFFFDy\uFFFD\U0001F600</V>", response, StringComparison.Ordinal);
        using var reader = System.Xml.XmlReader.Create(new StringReader(response));
        while (reader.Read())
        {
        }
    }
}
