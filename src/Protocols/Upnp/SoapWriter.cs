using System.Globalization;
using System.Text;

namespace PortMapper.Protocols.Upnp;

/// <summary>Writes SOAP responses and UPnP faults (UDA 1.1 §3.2.2).</summary>
public static class SoapWriter
{
    private const string Head = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>";
    private const string Tail = "</s:Body></s:Envelope>\r\n";

    public static string Response(string serviceType, string action, IEnumerable<KeyValuePair<string, string>> outputs)
    {
        var text = new StringBuilder(512);
        text.Append(Head).Append("<u:").Append(action).Append("Response xmlns:u=\"").Append(serviceType).Append("\">");
        foreach (var (name, value) in outputs)
        {
            text.Append('<').Append(name).Append('>');
            AppendEscaped(text, value);
            text.Append("</").Append(name).Append('>');
        }

        text.Append("</u:").Append(action).Append("Response>").Append(Tail);
        return text.ToString();
    }

    public static string Fault(UpnpError error)
    {
        var text = new StringBuilder(512);
        text.Append(Head)
            .Append("<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>")
            .Append("<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>")
            .Append(((int)error.Code).ToString(CultureInfo.InvariantCulture))
            .Append("</errorCode><errorDescription>");
        AppendEscaped(text, error.Description);
        text.Append("</errorDescription></UPnPError></detail></s:Fault>").Append(Tail);
        return text.ToString();
    }

    /// <summary>
    /// The value as XML character data: markup characters as entities, and a character XML 1.0 does not allow at all
    /// (a control character, a lone surrogate, U+FFFE/U+FFFF: from an imported lease file, say) as U+FFFD, so that
    /// one bad description cannot make every listing unreadable to the client.
    /// </summary>
    public static void AppendEscaped(StringBuilder text, string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (i + 1 < value.Length && System.Xml.XmlConvert.IsXmlSurrogatePair(value[i + 1], c))
            {
                text.Append(c).Append(value[++i]);
                continue;
            }

            _ = c switch
            {
                '&' => text.Append("&amp;"),
                '<' => text.Append("&lt;"),
                '>' => text.Append("&gt;"),
                '"' => text.Append("&quot;"),
                '\'' => text.Append("&apos;"),
                _ when !System.Xml.XmlConvert.IsXmlChar(c) => text.Append('\uFFFD'),
                _ => text.Append(c),
            };
        }
    }

    public static string Escape(string value)
    {
        var text = new StringBuilder(value.Length + 16);
        AppendEscaped(text, value);
        return text.ToString();
    }
}
