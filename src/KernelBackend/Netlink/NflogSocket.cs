using System.Buffers.Binary;
using System.Net.Sockets;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// nfnetlink_log (NETLINK_NETFILTER, subsystem ULOG): receives copies of the packets that nftables rules with
/// <c>log group N</c> match. The packets themselves go on in the kernel; this only sees them. One socket per group
/// and network namespace. Each packet is sent at once (queue threshold 1), not batched for a second.
/// </summary>
public sealed class NflogSocket : IDisposable
{
    private const ushort MsgPacket = 4 << 8;        // NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_PACKET
    private const ushort MsgConfig = (4 << 8) | 1;  // NFULNL_MSG_CONFIG
    private const ushort CfgCmd = 1;
    private const ushort CfgMode = 2;
    private const ushort CfgTimeout = 4;
    private const ushort CfgQueueThreshold = 5;
    private const byte CmdBind = 1;
    private const byte CopyPacket = 2;
    private const ushort AttrPayload = 9;
    private const ushort AttrPrefix = 10;

    private readonly Socket _socket;
    private readonly byte[] _buffer = GC.AllocateArray<byte>(1 << 17, pinned: true);
    private uint _sequence;

    /// <summary>Binds the group; throws <see cref="IOException"/> when another process has it, <see cref="SocketException"/> without CAP_NET_ADMIN.</summary>
    public NflogSocket(ushort group, int copyRange = 0xFFFF)
    {
        _socket = NetlinkSocket.Open(NfnetlinkMessage.NetlinkNetfilter, 0);
        try
        {
            _socket.ReceiveBufferSize = 1 << 20;
            _socket.ReceiveTimeout = 2000; // for the acknowledgements; the asynchronous receive has no timeout
            Configure(group, [Attribute(CfgCmd, [CmdBind])]);
            byte[] mode = new byte[6];
            BinaryPrimitives.WriteUInt32BigEndian(mode, (uint)copyRange);
            mode[4] = CopyPacket;
            byte[] one = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(one, 1);
            Configure(group, [Attribute(CfgMode, mode), Attribute(CfgQueueThreshold, one), Attribute(CfgTimeout, new byte[4])]);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the next datagram and adds the packets it carries. ENOBUFS (the kernel dropped copies) surfaces as a <see cref="SocketException"/>.</summary>
    public async ValueTask ReceiveAsync(List<LoggedPacket> packets, CancellationToken cancellationToken)
    {
        packets.Clear();
        int received = await _socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        Read(_buffer.AsMemory(0, received), packets);
    }

    /// <summary>The packets of one netlink datagram of NFULNL_MSG_PACKET messages; anything else in it is skipped.</summary>
    public static void Read(ReadOnlyMemory<byte> datagram, List<LoggedPacket> packets)
    {
        ReadOnlySpan<byte> span = datagram.Span;
        for (int at = 0; at + NfnetlinkMessage.HeaderLength + 4 <= span.Length;)
        {
            // Compared unsigned: a length of 2^31 or more read as an int went negative and past this check.
            uint declared = BinaryPrimitives.ReadUInt32LittleEndian(span[at..]);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(span[(at + 4)..]);
            if (declared < NfnetlinkMessage.HeaderLength + 4 || declared > (uint)(span.Length - at))
            {
                return;
            }

            int length = (int)declared;

            if (type == MsgPacket)
            {
                byte family = span[at + NfnetlinkMessage.HeaderLength];
                ReadOnlyMemory<byte> prefix = default, packet = default;
                int attributesEnd = at + length;
                for (int a = at + NfnetlinkMessage.HeaderLength + 4; a + 4 <= attributesEnd;)
                {
                    ushort attributeLength = BinaryPrimitives.ReadUInt16LittleEndian(span[a..]);
                    ushort attributeType = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(span[(a + 2)..]) & 0x3FFF);
                    if (attributeLength < 4 || a + attributeLength > attributesEnd)
                    {
                        break;
                    }

                    ReadOnlyMemory<byte> value = datagram.Slice(a + 4, attributeLength - 4);
                    if (attributeType == AttrPayload)
                    {
                        packet = value;
                    }
                    else if (attributeType == AttrPrefix)
                    {
                        // NUL-terminated.
                        int nul = value.Span.IndexOf((byte)0);
                        prefix = nul < 0 ? value : value[..nul];
                    }

                    a += Align(attributeLength);
                }

                if (!packet.IsEmpty)
                {
                    packets.Add(new LoggedPacket(family, prefix, packet));
                }
            }

            at += Align(length);
        }
    }

    public void Dispose() => _socket.Dispose();

    private void Configure(ushort group, byte[][] attributes)
    {
        // nfgenmsg: AF_UNSPEC, the group as resource id.
        byte[] message = NfnetlinkMessage.Build(MsgConfig, NfnetlinkMessage.FlagRequest | NfnetlinkMessage.FlagAck, ++_sequence, 0, group, attributes.SelectMany(a => a).ToArray());
        _socket.Send(message);

        // The acknowledgement; packets logged meanwhile (the group is live once bound) are skipped.
        while (true)
        {
            int received = _socket.Receive(_buffer);
            if (received < NfnetlinkMessage.HeaderLength + 4 || BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(4)) != NfnetlinkMessage.NlmsgError
                || BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(8)) != _sequence)
            {
                continue;
            }

            int error = -BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(NfnetlinkMessage.HeaderLength));
            if (error != 0)
            {
                throw new IOException(error == 16
                    ? $"NFLOG group {group} is taken by another process"
                    : $"nfnetlink_log refused to configure group {group} (errno {error})");
            }

            return;
        }
    }

    private static byte[] Attribute(ushort type, byte[] value) => NfnetlinkMessage.Attribute(type, value);

    private static int Align(int length) => NfnetlinkMessage.Align(length);
}
