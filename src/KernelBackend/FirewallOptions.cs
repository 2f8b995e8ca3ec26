namespace PortMapper.KernelBackend;

/// <param name="Mark">In integrate mode, the packet mark bit set on packets a mapping or pinhole admits.</param>
/// <param name="Hairpin">LAN hosts reach mappings through the external address (NAT loopback).</param>
public sealed record FirewallOptions(
    string TableName, FirewallMode Mode, string WanInterface, IReadOnlyList<string> LanInterfaces, uint Mark = NftablesMark.Default, bool Hairpin = true);
