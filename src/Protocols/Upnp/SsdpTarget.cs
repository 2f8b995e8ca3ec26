namespace PortMapper.Protocols.Upnp;

/// <summary>One answer to a search, or one announcement: the ST/NT, the USN, and whose description it points to.</summary>
public sealed record SsdpTarget(string Target, string Usn, RootDevice Root);
