using System.Xml;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// Decodes a SOAP 1.1 control request (UDA 1.1 §3.2.1). DTDs are prohibited, so there is no entity expansion
/// and no external entity; nothing is resolved; the document is read once, forward only, with a size cap.
/// </summary>
public static class SoapReader
{
    public const string EnvelopeNamespace = "http://schemas.xmlsoap.org/soap/envelope/";
    private const int MaxArguments = 32;

    private static readonly XmlReaderSettings s_settings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersInDocument = 64 * 1024,
        MaxCharactersFromEntities = 0,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        CloseInput = false,
    };

    public static SoapRejection TryRead(ReadOnlyMemory<byte> body, out SoapCall? call)
    {
        call = null;
        try
        {
            using var stream = new MemoryStream(body.ToArray(), writable: false);
            using var reader = XmlReader.Create(stream, s_settings);
            return Read(reader, out call);
        }
        catch (XmlException e) when (e.Message.Contains("DTD", StringComparison.OrdinalIgnoreCase))
        {
            return SoapRejection.DtdProhibited;
        }
        catch (XmlException)
        {
            return SoapRejection.NotXml;
        }
        catch (ArgumentException)
        {
            // The XML reader itself can trip over a hostile declaration (an encoding switch on a body whose bytes do
            // not fit it ends in ArgumentOutOfRangeException inside System.Xml): not XML we can read.
            return SoapRejection.NotXml;
        }
    }

    private static SoapRejection Read(XmlReader reader, out SoapCall? call)
    {
        call = null;
        if (reader.MoveToContent() != XmlNodeType.Element || reader.LocalName != "Envelope" || reader.NamespaceURI != EnvelopeNamespace)
        {
            return SoapRejection.NotSoapEnvelope;
        }

        // Envelope: an optional Header, then the Body.
        if (!ReadToChild(reader))
        {
            return SoapRejection.NotSoapEnvelope;
        }

        if (reader.LocalName == "Header" && reader.NamespaceURI == EnvelopeNamespace)
        {
            reader.Skip();
            reader.MoveToContent();
        }

        if (reader.NodeType != XmlNodeType.Element || reader.LocalName != "Body" || reader.NamespaceURI != EnvelopeNamespace)
        {
            return SoapRejection.NotSoapEnvelope;
        }

        if (!ReadToChild(reader) || string.IsNullOrEmpty(reader.NamespaceURI))
        {
            return SoapRejection.NoAction;
        }

        string serviceType = reader.NamespaceURI;
        string action = reader.LocalName;
        var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!reader.IsEmptyElement)
        {
            reader.Read();
            while (reader.MoveToContent() == XmlNodeType.Element)
            {
                string name = reader.LocalName;
                string value;
                try
                {
                    value = reader.ReadElementContentAsString();
                }
                catch (XmlException)
                {
                    // ReadElementContentAsString refuses element content: arguments are text.
                    return SoapRejection.BadArgument;
                }

                if (!arguments.TryAdd(name, value) || arguments.Count > MaxArguments)
                {
                    return SoapRejection.BadArgument;
                }
            }
        }

        // Read the rest, so a malformed tail is refused too.
        while (reader.Read())
        {
        }

        call = new SoapCall(serviceType, action, arguments);
        return SoapRejection.None;
    }

    private static bool ReadToChild(XmlReader reader)
    {
        if (reader.IsEmptyElement)
        {
            return false;
        }

        reader.Read();
        return reader.MoveToContent() == XmlNodeType.Element;
    }
}
