namespace PortMapper.KernelBackend;

public enum FirewallChangeKind : byte
{
    /// <summary>Install a mapping whose external port is not in the kernel.</summary>
    Add,

    /// <summary>Replace the kernel entry for the same external port (a renewal: new timeout).</summary>
    Replace,

    /// <summary>Remove a mapping that is still in the kernel.</summary>
    Remove,
}
