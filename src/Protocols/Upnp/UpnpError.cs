namespace PortMapper.Protocols.Upnp;

/// <summary>A SOAP fault to send: the code and the description the specification names it by.</summary>
public readonly record struct UpnpError(UpnpErrorCode Code, string Description)
{
    public static UpnpError InvalidArgs { get; } = new(UpnpErrorCode.InvalidArgs, "Invalid Args");

    public static UpnpError InvalidAction { get; } = new(UpnpErrorCode.InvalidAction, "Invalid Action");

    public static UpnpError NotAuthorized { get; } = new(UpnpErrorCode.ActionNotAuthorized, "Action not authorized");

    public static UpnpError ActionFailed { get; } = new(UpnpErrorCode.ActionFailed, "Action Failed");
}
