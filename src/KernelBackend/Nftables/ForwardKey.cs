namespace PortMapper.KernelBackend.Nftables;

/// <summary>One element of one of the forward sets, as nft writes its key.</summary>
public readonly record struct ForwardKey(string Set, string Element);
