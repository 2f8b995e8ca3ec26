namespace PortMapper.KernelBackend;

public static class NftablesMark
{
    /// <summary>The default mark bit for admitted packets in integrate mode.</summary>
    public const uint Default = 0x10000000;
}
