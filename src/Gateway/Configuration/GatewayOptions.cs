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
    /// <summary>Whether the running kernel has an <c>rtsp</c> conntrack helper; found out once at start (see <see cref="KernelBackend.Nftables.NftablesBackend.KernelHasHelper"/>).</summary>
    public bool KernelHasRtspHelper { get; init; }

    /// <summary>The nftables ruleset generation read first thing at start, before the daemon commits anything (a restart adopts its table when it matches the stop's).</summary>
    public uint? KernelGenerationAtStart { get; init; }

    public RtspHelperMode RtspHelper => !Settings.RtspHelper || Settings.RtspPorts.Count == 0 ? RtspHelperMode.Off
        : KernelHasRtspHelper ? RtspHelperMode.Kernel : RtspHelperMode.Observer;

    public FirewallOptions Firewall => new(Settings.TableName, Settings.FirewallMode, WanInterface, [.. LanInterfaces.Select(l => l.Name)], Settings.FirewallMark, Settings.Hairpin, Settings.PreservePorts,
        Settings.SipHelper ? Settings.SipPorts : null, RtspHelper, Settings.RtspPorts, Settings.RtspLogGroup, Settings.SipHelper && Settings.SipTcp,
        Settings.OpenNatIdleSeconds, Settings.OpenNatMaxMappings);

    public LeaseTableOptions LeaseTable => new(Settings.MaxLifetimeSeconds, Settings.MaxLeasesPerClient, Settings.SecureMode, ReservedPorts, Settings.MaxLeases);
}
