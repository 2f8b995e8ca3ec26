using System.Runtime.InteropServices;

namespace PortMapper.KernelBackend.Native;

public static partial class NativeMemory
{
    /// <summary>Returns free heap memory to the kernel (glibc malloc_trim).</summary>
    public static void Trim() => MallocTrim(0);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
