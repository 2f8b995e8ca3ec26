namespace PortMapper.Gateway.Leases;

public enum LeaseChangeKind : byte
{
    Added,
    Renewed,
    Removed,

    /// <summary>Ran out of time: the kernel has already dropped its entries.</summary>
    Expired,
}
