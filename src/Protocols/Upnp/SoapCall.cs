namespace PortMapper.Protocols.Upnp;

/// <summary>A decoded control request: the service type (the action element's namespace), action and arguments.</summary>
public sealed record SoapCall(string ServiceType, string ActionName, IReadOnlyDictionary<string, string> Arguments)
{
    /// <summary>The argument's text, trimmed; null when absent.</summary>
    public string? Get(string name) => Arguments.TryGetValue(name, out string? value) ? value.Trim() : null;
}
