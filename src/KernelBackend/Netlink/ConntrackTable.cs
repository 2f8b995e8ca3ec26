using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// ctnetlink (NETLINK_NETFILTER, subsystem CTNETLINK): dumps the conntrack table of a family and deletes the flows
/// addressed to given endpoints, each by its exact original tuple. One dump serves a whole batch of endpoints.
/// Not thread-safe; one caller at a time.
/// </summary>
public sealed class ConntrackTable : IFlowTable, IDisposable
{
    private const ushort MsgGet = (1 << 8) | 1;     // NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET
    private const ushort MsgDelete = (1 << 8) | 2;  // IPCTNL_MSG_CT_DELETE
    private const ushort NlmsgDone = 3;
    private const ushort FlagDump = 0x300;
    private const ushort CtaTupleOrig = 1;
    private const ushort CtaTupleReply = 2;
    private const ushort CtaTupleIp = 1;
    private const ushort CtaTupleProto = 2;
    private const ushort CtaIpV4Src = 1;
    private const ushort CtaIpV4Dst = 2;
    private const ushort CtaIpV6Src = 3;
    private const ushort CtaIpV6Dst = 4;
    private const ushort CtaProtoNum = 1;
    private const ushort CtaProtoDstPort = 3;

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[1 << 16];
    private uint _sequence;

    public ConntrackTable()
    {
        _socket = NetlinkSocket.Open(NfnetlinkMessage.NetlinkNetfilter, 0);
        _socket.ReceiveTimeout = 2000;
    }

    public int EndFlows(IReadOnlyCollection<FlowEndpoint> endpoints)
    {
        int ended = 0;
        foreach (var family in endpoints.GroupBy(e => e.Address.AddressFamily))
        {
            var wanted = family.GroupBy(e => (e.Address, (byte)e.Protocol, e.Port))
                .ToDictionary(g => g.Key, g => g.Any(e => e.From is null) ? null : g.Select(e => e.From!).ToHashSet());
            foreach (byte[] tuple in Matching(family.Key == AddressFamily.InterNetwork ? (byte)2 : (byte)10, wanted))
            {
                ended += Delete(family.Key == AddressFamily.InterNetwork ? (byte)2 : (byte)10, tuple) ? 1 : 0;
            }
        }

        return ended;
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>
    /// The CTA_TUPLE_ORIG attributes (as received) of the flows whose original or reply destination is wanted, from
    /// one of the wanted sources where the endpoint names them (null: from anywhere).
    /// </summary>
    private List<byte[]> Matching(byte family, Dictionary<(IPAddress, byte, ushort), HashSet<IPAddress>?> wanted)
    {
        var found = new List<byte[]>();
        Send(MsgGet, NfnetlinkMessage.FlagRequest | FlagDump, family, []);
        while (true)
        {
            int received = _socket.Receive(_buffer);
            for (int at = 0; at + NfnetlinkMessage.HeaderLength <= received;)
            {
                int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(at));
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(at + 4));
                if (length < NfnetlinkMessage.HeaderLength || at + length > received)
                {
                    return found;
                }

                if (type is NlmsgDone or NfnetlinkMessage.NlmsgError)
                {
                    return found;
                }

                ReadOnlySpan<byte> attributes = _buffer.AsSpan(at + NfnetlinkMessage.HeaderLength + 4, length - NfnetlinkMessage.HeaderLength - 4);
                ReadOnlySpan<byte> orig = default;
                bool match = false;
                foreach (NetlinkAttributes attribute in new NetlinkAttributes(attributes))
                {
                    if (attribute.Type is CtaTupleOrig or CtaTupleReply)
                    {
                        match |= Ends(attribute.Payload) is { } ends && wanted.TryGetValue(ends.Destination, out HashSet<IPAddress>? sources)
                            && (sources is null || (ends.Source is { } source && sources.Contains(source)));
                        if (attribute.Type == CtaTupleOrig)
                        {
                            orig = attribute.Whole;
                        }
                    }
                }

                if (match && !orig.IsEmpty)
                {
                    found.Add(orig.ToArray());
                }

                at += Align(length);
            }
        }
    }

    private bool Delete(byte family, byte[] tuple)
    {
        Send(MsgDelete, NfnetlinkMessage.FlagRequest | NfnetlinkMessage.FlagAck, family, tuple);
        int received = _socket.Receive(_buffer);
        if (received < NfnetlinkMessage.HeaderLength + 4 || BinaryPrimitives.ReadUInt16LittleEndian(_buffer.AsSpan(4)) != NfnetlinkMessage.NlmsgError)
        {
            return false;
        }

        // An acknowledgement is an error message with error 0; ENOENT means the flow ended by itself meanwhile.
        return BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(NfnetlinkMessage.HeaderLength)) == 0;
    }

    /// <summary>The destination (address, protocol, port) and the source address of a tuple attribute's payload.</summary>
    private static ((IPAddress, byte, ushort) Destination, IPAddress? Source)? Ends(ReadOnlySpan<byte> tuple)
    {
        IPAddress? address = null, source = null;
        byte protocol = 0;
        ushort port = 0;
        foreach (NetlinkAttributes part in new NetlinkAttributes(tuple))
        {
            if (part.Type == CtaTupleIp)
            {
                foreach (NetlinkAttributes ip in new NetlinkAttributes(part.Payload))
                {
                    if ((ip.Type == CtaIpV4Dst && ip.Payload.Length == 4) || (ip.Type == CtaIpV6Dst && ip.Payload.Length == 16))
                    {
                        address = new IPAddress(ip.Payload);
                    }
                    else if ((ip.Type == CtaIpV4Src && ip.Payload.Length == 4) || (ip.Type == CtaIpV6Src && ip.Payload.Length == 16))
                    {
                        source = new IPAddress(ip.Payload);
                    }
                }
            }
            else if (part.Type == CtaTupleProto)
            {
                foreach (NetlinkAttributes proto in new NetlinkAttributes(part.Payload))
                {
                    if (proto.Type == CtaProtoNum && proto.Payload.Length >= 1)
                    {
                        protocol = proto.Payload[0];
                    }
                    else if (proto.Type == CtaProtoDstPort && proto.Payload.Length >= 2)
                    {
                        port = BinaryPrimitives.ReadUInt16BigEndian(proto.Payload);
                    }
                }
            }
        }

        return address is null ? null : ((address, protocol, port), source);
    }

    private void Send(ushort type, ushort flags, byte family, byte[] attributes) =>
        _socket.Send(NfnetlinkMessage.Build(type, flags, ++_sequence, family, 0, attributes));

    private static int Align(int length) => NfnetlinkMessage.Align(length);
}
