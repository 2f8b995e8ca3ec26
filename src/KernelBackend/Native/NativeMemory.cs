using System.Runtime.InteropServices;

namespace PortMapper.KernelBackend.Native;

public static partial class NativeMemory
{
    private const int MallocArenaMax = -8; // M_ARENA_MAX

    /// <summary>Returns free heap memory to the kernel (glibc malloc_trim).</summary>
    public static void Trim() => MallocTrim(0);

    /// <summary>
    /// One malloc arena for the whole process instead of one per thread that ever allocated: the daemon's native
    /// allocations are few and small (libnftables, netlink buffers), and each extra arena kept about 1.3 MB resident.
    /// Call before the threads that allocate start.
    /// </summary>
    public static void UseOneArena() => _ = Mallopt(MallocArenaMax, 1);

    /// <summary>
    /// Unmaps the pages of the daemon's own executable that are resident but not written (code and read-only
    /// data) with madvise(MADV_PAGEOUT): most were touched once at start-up (the runtime reads its whole data
    /// section then), and the kernel's fault-around maps 16 pages for every one touched. They stay in the page
    /// cache; what the daemon goes on using is faulted back in on its next use, at a minor fault's cost. Returns
    /// the number of bytes advised (0 where the kernel has no MADV_PAGEOUT, before Linux 5.4).
    /// </summary>
    public static long ReleaseImagePages()
    {
        string? image = Environment.ProcessPath;
        if (image is null)
        {
            return 0;
        }

        long advised = 0;
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                // "start-end perms offset dev inode path"
                string[] fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 6 || fields[1].Contains('w', StringComparison.Ordinal) || fields[5].Trim() != image)
                {
                    continue;
                }

                int dash = fields[0].IndexOf('-', StringComparison.Ordinal);
                nuint start = nuint.Parse(fields[0].AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                nuint end = nuint.Parse(fields[0].AsSpan(dash + 1), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                if (Madvise(start, end - start, MadvPageout) == 0)
                {
                    advised += (long)(end - start);
                }
            }
        }
        catch (IOException)
        {
        }

        return advised;
    }

    private const int MadvPageout = 21;

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nuint address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);
}
