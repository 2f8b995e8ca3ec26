using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// Wakes the caller whenever the kernel announces an address or link change (rtnetlink multicast groups
/// RTMGRP_LINK, RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR). The caller re-reads what it cares about; the
/// messages themselves are only a signal.
/// </summary>
public sealed partial class AddressMonitor : IDisposable
{
    private const int AfNetlink = 16;
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;
    private const int NetlinkRoute = 0;
    private const uint RtmgrpLink = 0x1;
    private const uint RtmgrpIPv4IfAddr = 0x10;
    private const uint RtmgrpIPv6IfAddr = 0x100;

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[16384];

    public AddressMonitor()
    {
        // new Socket((AddressFamily)16, ...) throws in .NET, so the fd comes from libc.
        int fd = NativeSocket(AfNetlink, SockRaw | SockCloexec, NetlinkRoute);
        if (fd < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        var address = new SockaddrNl { Family = AfNetlink, Groups = RtmgrpLink | RtmgrpIPv4IfAddr | RtmgrpIPv6IfAddr };
        if (NativeBind(fd, ref address, Marshal.SizeOf<SockaddrNl>()) != 0)
        {
            int error = Marshal.GetLastPInvokeError();
            NativeClose(fd);
            throw new SocketException(error);
        }

        _socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
    }

    /// <summary>Completes when at least one change notification has arrived.</summary>
    public async ValueTask WaitForChangeAsync(CancellationToken cancellationToken)
    {
        // One message per wake-up; a burst wakes the caller a few times, and re-reading is cheap.
        await _socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _socket.Dispose();

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
