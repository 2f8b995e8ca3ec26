namespace PortMapper.KernelBackend;

public enum FirewallMode : byte
{
    /// <summary>
    /// The daemon's table also filters forwarded traffic from the WAN: established and related flows and
    /// mapped flows pass, other flows from the WAN are dropped.
    /// </summary>
    Standalone,

    /// <summary>
    /// The daemon installs only its translation; the host firewall decides what is forwarded and needs the
    /// rule from <see cref="NftablesRuleset.IntegrateSnippet"/> to let mapped flows through.
    /// </summary>
    Integrate,
}
