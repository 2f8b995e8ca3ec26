namespace PortMapper.Protocols.Upnp;

/// <summary>
/// A service as its SCPD describes it. The same data writes the SCPD document and checks incoming actions,
/// so a client can never call what the description does not offer.
/// </summary>
public sealed partial record ServiceDefinition(
    UpnpServiceKind Kind,
    string ServiceType,
    string ServiceId,
    string Path,
    IReadOnlyList<ServiceAction> Actions,
    IReadOnlyList<StateVariable> Variables)
{
    public const string UrnPrefix = "urn:schemas-upnp-org:service:";

    /// <summary>The service type's version, the digit after the last colon.</summary>
    public int Version => ServiceType[^1] - '0';

    /// <summary>The type without its version: what a SOAPAction of an older version of the service must match.</summary>
    public string TypeName => ServiceType[..ServiceType.LastIndexOf(':')];

    public string ScpdPath => $"/{Path}.xml";

    public string ControlPath => $"/ctl/{Path}";

    public string EventPath => $"/evt/{Path}";

    public ServiceAction? FindAction(string name) => Actions.FirstOrDefault(a => a.Name == name);

    public IEnumerable<StateVariable> EventedVariables => Variables.Where(v => v.SendEvents);

    private static ActionArgument In(string name, string variable) => new(name, true, variable);

    private static ActionArgument Out(string name, string variable) => new(name, false, variable);

    private static StateVariable Var(string name, string type, bool events = false, params string[] allowed) =>
        new(name, type, events, allowed.Length == 0 ? null : allowed);
}
