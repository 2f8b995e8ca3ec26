namespace PortMapper.KernelBackend;

public readonly record struct FirewallChange(FirewallChangeKind Kind, PortMapping Mapping);
