namespace PortMapper.Protocols.Upnp;

/// <summary>
/// What every SSDP message carries: the SERVER string, max-age, and BOOTID/CONFIGID (UDA 1.1 §1.2.2). BOOTID
/// changes with every start, so control points notice the restart.
/// </summary>
public sealed record SsdpIdentity(string Server, int MaxAge, uint BootId, int ConfigId);
