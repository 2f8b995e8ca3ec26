using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Network;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Configuration;

/// <summary>The validated configuration the daemon runs with.</summary>
public sealed record GatewayOptions(
    GatewaySettings Settings,
    string WanInterface,
    IReadOnlyList<LanInterface> LanInterfaces,
    Policy Policy,
    IReadOnlySet<ushort> ReservedPorts,
    System.Net.IPEndPoint? AdminEndpoint = null)
{
    public FirewallOptions Firewall => new(Settings.TableName, Settings.FirewallMode, WanInterface, [.. LanInterfaces.Select(l => l.Name)], Settings.FirewallMark, Settings.Hairpin, Settings.PreservePorts,
        Settings.SipHelper ? Settings.SipPorts : null);

    public LeaseTableOptions LeaseTable => new(Settings.MaxLifetimeSeconds, Settings.MaxLeasesPerClient, Settings.SecureMode, ReservedPorts);
}
