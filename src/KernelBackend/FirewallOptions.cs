namespace PortMapper.KernelBackend;

/// <param name="Mark">In integrate mode, the packet mark bit set on packets a mapping or pinhole admits.</param>
/// <param name="Hairpin">LAN hosts reach mappings through the external address (NAT loopback).</param>
/// <param name="PreservePorts">Traffic from a mapping's internal endpoint leaves with the mapping's external port.</param>
/// <param name="SipPorts">Ports whose flows get the kernel's SIP helper (null or empty: none).</param>
public sealed record FirewallOptions(
    string TableName,
    FirewallMode Mode,
    string WanInterface,
    IReadOnlyList<string> LanInterfaces,
    uint Mark = NftablesMark.Default,
    bool Hairpin = true,
    bool PreservePorts = true,
    IReadOnlyList<ushort>? SipPorts = null);
