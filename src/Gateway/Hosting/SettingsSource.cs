using PortMapper.Gateway.Configuration;

namespace PortMapper.Gateway.Hosting;

/// <summary>Reads the settings again as at start (the same file and flags): what a reload uses.</summary>
public sealed record SettingsSource(Func<(GatewaySettings Settings, List<string> Errors)> Read);
