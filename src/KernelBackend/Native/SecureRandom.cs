using System.Runtime.InteropServices;

namespace PortMapper.KernelBackend.Native;

/// <summary>
/// Random bytes from the kernel (getrandom(2)): what the daemon needs of cryptography is a token and nonces, and
/// .NET's RandomNumberGenerator would load OpenSSL for them, 3.4 MB of resident memory for 48 bytes.
/// </summary>
public static partial class SecureRandom
{
    public static byte[] GetBytes(int count)
    {
        byte[] bytes = new byte[count];
        Fill(bytes);
        return bytes;
    }

    public static unsafe void Fill(Span<byte> destination)
    {
        fixed (byte* start = destination)
        {
            int done = 0;
            while (done < destination.Length)
            {
                nint n = GetRandom(start + done, (nuint)(destination.Length - done), 0);
                if (n < 0)
                {
                    int error = Marshal.GetLastPInvokeError();
                    if (error == 4) // EINTR
                    {
                        continue;
                    }

                    throw new IOException($"getrandom failed: errno {error}");
                }

                done += (int)n;
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "getrandom", SetLastError = true)]
    private static unsafe partial nint GetRandom(byte* buffer, nuint length, uint flags);
}
