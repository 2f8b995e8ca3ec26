namespace PortMapper.Protocols.Upnp;

/// <summary>A decoded M-SEARCH (UDA 1.1 §1.3.2). <see cref="Mx"/> is null for a unicast search without MX.</summary>
public sealed record SsdpSearch(string SearchTarget, int? Mx);
