using Microsoft.Win32.SafeHandles;

namespace PortMapper.KernelBackend.Native;

/// <summary>Owns one <c>struct nft_ctx</c>.</summary>
internal sealed class NftContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public NftContextHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        LibNftables.FreeContext(handle);
        return true;
    }
}
