namespace PortMapper.Protocols.Upnp;

/// <summary>Why a control request's body was refused before any action ran.</summary>
public enum SoapRejection
{
    None,

    /// <summary>Not well-formed XML, or larger than the reader accepts.</summary>
    NotXml,

    /// <summary>A DOCTYPE: refused outright, so no entity is ever expanded or fetched.</summary>
    DtdProhibited,

    /// <summary>The document element is not a SOAP 1.1 Envelope, or it has no Body.</summary>
    NotSoapEnvelope,

    /// <summary>The Body holds no action element.</summary>
    NoAction,

    /// <summary>An argument holds elements instead of text, or appears twice.</summary>
    BadArgument,
}
