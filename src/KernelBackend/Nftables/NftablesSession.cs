using System.Runtime.InteropServices;
using PortMapper.KernelBackend.Native;

namespace PortMapper.KernelBackend.Nftables;

/// <summary>
/// One libnftables context. Each <see cref="Run"/> is one nftables transaction: the kernel applies all of
/// the commands in the buffer or none of them. Not thread-safe; callers serialize.
/// </summary>
internal sealed class NftablesSession : IDisposable
{
    private readonly NftContextHandle _context;

    public NftablesSession()
    {
        _context = LibNftables.CreateContext(LibNftables.DefaultFlags);
        if (_context.IsInvalid)
        {
            throw new FirewallException("nft_ctx_new failed");
        }

        LibNftables.BufferOutput(_context);
        LibNftables.BufferError(_context);
    }

    /// <summary>Runs commands; returns their output. Throws <see cref="FirewallException"/> with nft's message on failure.</summary>
    public string Run(string commands)
    {
        return TryRun(commands, out string output) ? output : throw new FirewallException(output.Trim());
    }

    /// <summary>Runs commands; returns false instead of throwing when the kernel refuses them.</summary>
    public bool TryRun(string commands, out string output)
    {
        int rc = LibNftables.RunCommand(_context, commands);
        IntPtr buffer = rc == 0 ? LibNftables.GetOutputBuffer(_context) : LibNftables.GetErrorBuffer(_context);
        output = Marshal.PtrToStringUTF8(buffer) ?? string.Empty;
        return rc == 0;
    }

    public void Dispose() => _context.Dispose();
}
