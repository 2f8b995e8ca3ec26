namespace PortMapper.KernelBackend;

/// <param name="Mark">In integrate mode, the packet mark bit set on packets a mapping or pinhole admits.</param>
/// <param name="Hairpin">LAN hosts reach mappings through the external address (NAT loopback).</param>
/// <param name="PreservePorts">Traffic from a mapping's internal endpoint leaves with the mapping's external port.</param>
/// <param name="SipPorts">Ports whose flows get the kernel's SIP helper (null or empty: none).</param>
/// <param name="Rtsp">How RTSP media gets in: not at all, the kernel's helper, or the daemon's observer (NFLOG group <paramref name="RtspLogGroup"/>).</param>
/// <param name="RtspPorts">The RTSP servers' control ports (LAN clients connect to them).</param>
/// <param name="SipTcp">The SIP helper follows SIP over TCP on <paramref name="SipPorts"/> too, not only UDP.</param>
/// <param name="OpenNatIdleSeconds">How long an Open NAT endpoint mapping lives after its device last sent from it.</param>
/// <param name="OpenNatMaxMappings">At most this many Open NAT endpoint mappings at once, all devices together.</param>
public sealed record FirewallOptions(
    string TableName,
    FirewallMode Mode,
    string WanInterface,
    IReadOnlyList<string> LanInterfaces,
    uint Mark = NftablesMark.Default,
    bool Hairpin = true,
    bool PreservePorts = true,
    IReadOnlyList<ushort>? SipPorts = null,
    RtspHelperMode Rtsp = RtspHelperMode.Off,
    IReadOnlyList<ushort>? RtspPorts = null,
    ushort RtspLogGroup = FirewallOptions.DefaultRtspLogGroup,
    bool SipTcp = false,
    int OpenNatIdleSeconds = FirewallOptions.DefaultOpenNatIdleSeconds,
    int OpenNatMaxMappings = FirewallOptions.DefaultOpenNatMaxMappings)
{
    public const int DefaultOpenNatIdleSeconds = 300;
    public const int DefaultOpenNatMaxMappings = 8192;

    public const ushort DefaultRtspLogGroup = 554;

    /// <summary>The NFLOG prefixes of the observer's rules: control traffic from the client, and from the server.</summary>
    public const string RtspFromClientPrefix = "pm-rtsp-c";

    public const string RtspFromServerPrefix = "pm-rtsp-s";

    public bool ObservesRtsp => Rtsp == RtspHelperMode.Observer && RtspPorts is { Count: > 0 } && LanInterfaces.Count > 0;
}
