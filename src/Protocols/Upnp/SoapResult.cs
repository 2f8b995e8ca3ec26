
namespace PortMapper.Protocols.Upnp;

/// <summary>What an action produced: its out arguments, or a UPnP error.</summary>
public sealed record SoapResult(UpnpError? Error, IReadOnlyList<KeyValuePair<string, string>> Outputs)
{
    public static SoapResult Ok(params KeyValuePair<string, string>[] outputs) => new(null, outputs);

    public static SoapResult Fail(UpnpError error) => new(error, []);

    public static SoapResult Fail(UpnpErrorCode code, string description) => new(new UpnpError(code, description), []);

    public static KeyValuePair<string, string> Out(string name, string value) => new(name, value);
}
