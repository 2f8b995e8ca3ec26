namespace PortMapper.Protocols.Upnp;

public sealed record ServiceAction(string Name, IReadOnlyList<ActionArgument> Arguments)
{
    public IEnumerable<ActionArgument> Inputs => Arguments.Where(a => a.In);

    public IEnumerable<ActionArgument> Outputs => Arguments.Where(a => !a.In);
}
