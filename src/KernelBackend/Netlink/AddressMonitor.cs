using System.Net.Sockets;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// Wakes the caller whenever the kernel announces an address or link change (rtnetlink multicast groups
/// RTMGRP_LINK, RTMGRP_IPV4_IFADDR and RTMGRP_IPV6_IFADDR). The caller re-reads what it cares about; the
/// messages themselves are only a signal.
/// </summary>
public sealed class AddressMonitor : IDisposable
{
    private const int NetlinkRoute = 0;
    private const uint RtmgrpLink = 0x1;
    private const uint RtmgrpIPv4IfAddr = 0x10;
    private const uint RtmgrpIPv6IfAddr = 0x100;

    private readonly Socket _socket = NetlinkSocket.Open(NetlinkRoute, RtmgrpLink | RtmgrpIPv4IfAddr | RtmgrpIPv6IfAddr);
    private readonly byte[] _buffer = new byte[16384];

    /// <summary>Completes when at least one change notification has arrived.</summary>
    public async ValueTask WaitForChangeAsync(CancellationToken cancellationToken)
    {
        // One message per wake-up; a burst wakes the caller a few times, and re-reading is cheap.
        try
        {
            await _socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.NoBufferSpaceAvailable)
        {
            // ENOBUFS: more notifications came than the socket holds, and some were lost: a change, re-read.
        }
    }

    public void Dispose() => _socket.Dispose();
}
