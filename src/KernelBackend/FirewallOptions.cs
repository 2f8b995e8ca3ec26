namespace PortMapper.KernelBackend;

public sealed record FirewallOptions(string TableName, FirewallMode Mode, string WanInterface, IReadOnlyList<string> LanInterfaces);
