using System.Runtime.InteropServices;

namespace PortMapper.Lab.Tests.Infrastructure;

/// <summary>
/// Runs code inside a named network namespace. setns(2) changes only the calling thread, so the code runs
/// on a thread of its own; a socket created there stays in that namespace wherever it is used afterwards.
/// </summary>
internal static partial class NetNs
{
    private const int CloneNewNet = 0x40000000;

    public static T Run<T>(string ns, Func<T> action)
    {
        T result = default!;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/var/run/netns/{ns}", FileMode.Open, FileAccess.Read);
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new IOException($"setns({ns}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                result = action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        return error is null ? result : throw new InvalidOperationException($"in namespace {ns}: {error.Message}", error);
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}
