using System.Runtime.InteropServices;

namespace PortMapper.KernelBackend.Native;

/// <summary>The scheduling priority of one thread (Linux: setpriority on the thread's id).</summary>
public static partial class ThreadPriority
{
    private const int PrioProcess = 0;

    /// <summary>Makes the calling thread the last to run when the CPUs are busy (nice 19); best effort.</summary>
    public static void LowerCurrentThread() => _ = SetPriority(PrioProcess, (uint)GetTid(), 19);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, uint who, int priority);
}
