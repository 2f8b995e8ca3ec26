namespace PortMapper.Protocols.Upnp;

/// <summary>The human-facing fields of a device description.</summary>
public sealed record DeviceInfo(string FriendlyName, string Manufacturer, string ModelName, string ModelNumber, string SerialNumber, int ConfigId);
