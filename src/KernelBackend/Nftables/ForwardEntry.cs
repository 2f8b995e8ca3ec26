namespace PortMapper.KernelBackend.Nftables;

public readonly record struct ForwardEntry(ForwardKey Key, TimeSpan? Timeout);
