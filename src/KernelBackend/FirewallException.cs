namespace PortMapper.KernelBackend;

/// <summary>The kernel refused a batch; nothing of that batch was applied (nftables transactions are atomic).</summary>
public sealed class FirewallException : Exception
{
    public FirewallException()
    {
    }

    public FirewallException(string message)
        : base(message)
    {
    }

    public FirewallException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
