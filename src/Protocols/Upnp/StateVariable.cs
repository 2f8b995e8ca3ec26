namespace PortMapper.Protocols.Upnp;

/// <summary>One row of a service's serviceStateTable (UDA 1.1 §2.5).</summary>
public sealed record StateVariable(string Name, string DataType, bool SendEvents = false, IReadOnlyList<string>? AllowedValues = null);
