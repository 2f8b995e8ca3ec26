using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// Opens AF_NETLINK sockets: <c>new Socket((AddressFamily)16, ...)</c> throws in .NET, so the descriptor comes from
/// libc and is wrapped in a <see cref="Socket"/>.
/// </summary>
internal static partial class NetlinkSocket
{
    private const int AfNetlink = 16;
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;

    /// <summary>A netlink socket of the protocol, bound to the multicast groups (0: none, requests only).</summary>
    public static Socket Open(int protocol, uint groups)
    {
        int fd = NativeSocket(AfNetlink, SockRaw | SockCloexec, protocol);
        if (fd < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        var address = new SockaddrNl { Family = AfNetlink, Groups = groups };
        if (NativeBind(fd, ref address, Marshal.SizeOf<SockaddrNl>()) != 0)
        {
            int error = Marshal.GetLastPInvokeError();
            NativeClose(fd);
            throw new SocketException(error);
        }

        return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int NativeSocket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static partial int NativeBind(int fd, ref SockaddrNl address, int length);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int NativeClose(int fd);
}
