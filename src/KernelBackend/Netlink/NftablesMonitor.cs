using System.Net.Sockets;
using System.Text;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// Listens to nftables' own change notifications (the NFNLGRP_NFTABLES multicast group of NETLINK_NETFILTER) and
/// wakes the caller when one may have taken something from a table: the table, a chain, a rule, a set, an object
/// or a flowtable of it deleted (a firewall reload, <c>nft flush ruleset</c>, <c>nft delete table</c>), or elements
/// deleted from the one set named as the sentinel. Additions, and the element changes of every other set (the
/// daemon's own mappings coming and going), are ignored, so an idle daemon, and one busy with its own work,
/// is not woken. When the socket's buffer overflowed, notifications were lost: that wakes the caller too.
/// </summary>
public sealed class NftablesMonitor : IDisposable
{
    private const uint NfnlgrpNftables = 7;
    private const int NfnlSubsysNftables = 10;
    private const int NfgenmsgLength = 4;
    private const ushort AttributeTable = 1;  // NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_SET_TABLE, ... all 1
    private const ushort AttributeElementSet = 2; // NFTA_SET_ELEM_LIST_SET

    private readonly Socket _socket = NetlinkSocket.Open(NfnetlinkMessage.NetlinkNetfilter, 1u << (int)(NfnlgrpNftables - 1));
    private readonly byte[] _buffer = new byte[65536];
    private readonly byte[] _table;
    private readonly byte[] _sentinel;

    public NftablesMonitor(string table, string sentinelSet)
    {
        _table = Encoding.ASCII.GetBytes(table);
        _sentinel = Encoding.ASCII.GetBytes(sentinelSet);
        _socket.ReceiveBufferSize = 1 << 20;
    }

    /// <summary>Completes when a notification arrives that may have removed something of the table.</summary>
    public async Task WaitForLossAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int received;
            try
            {
                received = await _socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.NoBufferSpaceAvailable)
            {
                return; // ENOBUFS: notifications were dropped, so anything may have happened
            }

            if (MayRemove(_buffer.AsSpan(0, received), _table, _sentinel))
            {
                return;
            }
        }
    }

    /// <summary>Whether a datagram of notifications holds one that may have removed something of the table.</summary>
    internal static bool MayRemove(ReadOnlySpan<byte> datagram, ReadOnlySpan<byte> table, ReadOnlySpan<byte> sentinel)
    {
        foreach (NetlinkMessages message in new NetlinkMessages(datagram))
        {
            if (message.Type >> 8 != NfnlSubsysNftables || message.Payload.Length < NfgenmsgLength)
            {
                continue;
            }

            bool elements;
            switch (message.Type & 0xFF)
            {
                case 2 or 5 or 8 or 11 or 20 or 24: // DELTABLE, DELCHAIN, DELRULE, DELSET, DELOBJ, DELFLOWTABLE
                case 26 or 27 or 28 or 29 or 31 or 32: // and the DESTROY variants
                    elements = false;
                    break;
                case 14 or 30: // DELSETELEM, DESTROYSETELEM
                    elements = true;
                    break;
                default:
                    continue;
            }

            bool ours = false, sentinelSet = false;
            foreach (NetlinkAttributes attribute in new NetlinkAttributes(message.Payload[NfgenmsgLength..]))
            {
                ReadOnlySpan<byte> name = attribute.Payload.IndexOf((byte)0) is int end and >= 0 ? attribute.Payload[..end] : attribute.Payload;
                if (attribute.Type == AttributeTable)
                {
                    ours = name.SequenceEqual(table);
                }
                else if (attribute.Type == AttributeElementSet)
                {
                    sentinelSet = name.SequenceEqual(sentinel);
                }
            }

            if (ours && (!elements || sentinelSet))
            {
                return true;
            }
        }

        return false;
    }

    public void Dispose() => _socket.Dispose();
}
