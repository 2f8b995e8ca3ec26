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
            // Keyed by the address and port a flow is addressed to (original direction) or translated to (reply).
            var wanted = family.GroupBy(e => (e.Address, (byte)e.Protocol, e.Port)).ToDictionary(g => g.Key, g => g.ToArray());
            byte af = family.Key == AddressFamily.InterNetwork ? (byte)2 : (byte)10;
            foreach (byte[] tuple in Matching(af, wanted))
            {
                ended += Delete(af, tuple) ? 1 : 0;
            }
        }

        return ended;
    }

    public void Dispose() => _socket.Dispose();

    /// <summary>The CTA_TUPLE_ORIG attributes (as received) of the flows that one of the wanted endpoints admitted.</summary>
    private List<byte[]> Matching(byte family, Dictionary<(IPAddress, byte, ushort), FlowEndpoint[]> wanted)
    {
        var found = new List<byte[]>();
        Send(MsgGet, NfnetlinkMessage.FlagRequest | FlagDump, family, []);
        while (!ReadDump(_buffer.AsSpan(0, _socket.Receive(_buffer)), wanted, found))
        {
        }

        return found;
    }

    /// <summary>
    /// Reads one datagram of a conntrack dump, adding the original tuple of each wanted flow to
    /// <paramref name="found"/>; true when the dump is over (its end, an error, or a truncated datagram).
    /// </summary>
    internal static bool ReadDump(ReadOnlySpan<byte> datagram, Dictionary<(IPAddress, byte, ushort), FlowEndpoint[]> wanted, List<byte[]> found)
    {
        var messages = new NetlinkMessages(datagram);
        while (messages.MoveNext())
        {
            if (messages.Type is NlmsgDone or NfnetlinkMessage.NlmsgError)
            {
                return true;
            }

            if (messages.Payload.Length < 4)
            {
                continue; // no nfgenmsg: nothing to read
            }

            ReadOnlySpan<byte> orig = default;
            FlowTuple? original = null, reply = null;
            foreach (NetlinkAttributes attribute in new NetlinkAttributes(messages.Payload[4..]))
            {
                if (attribute.Type == CtaTupleOrig)
                {
                    orig = attribute.Whole;
                    original = FlowTuple.Read(attribute.Payload);
                }
                else if (attribute.Type == CtaTupleReply)
                {
                    reply = FlowTuple.Read(attribute.Payload);
                }
            }

            if (original is { } o && reply is { } r && !orig.IsEmpty && Wanted(wanted, o, r))
            {
                found.Add(orig.ToArray());
            }
        }

        return messages.Truncated;
    }

    private static bool Wanted(Dictionary<(IPAddress, byte, ushort), FlowEndpoint[]> wanted, FlowTuple original, FlowTuple reply)
    {
        foreach (var key in (ReadOnlySpan<(IPAddress, byte, ushort)>)[(original.Destination, original.Protocol, original.DestinationPort), (reply.Destination, original.Protocol, reply.DestinationPort)])
        {
            if (wanted.TryGetValue(key, out FlowEndpoint[]? endpoints))
            {
                foreach (FlowEndpoint endpoint in endpoints)
                {
                    if (FlowTuple.Admitted(endpoint, original, reply))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
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

    private void Send(ushort type, ushort flags, byte family, byte[] attributes) =>
        _socket.Send(NfnetlinkMessage.Build(type, flags, ++_sequence, family, 0, attributes));
}
