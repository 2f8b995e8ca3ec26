namespace PortMapper.Protocols.Upnp;

/// <summary>One argument of an action (UDA 1.1 §2.5): its name, direction and the state variable giving its type.</summary>
public sealed record ActionArgument(string Name, bool In, string RelatedStateVariable);
