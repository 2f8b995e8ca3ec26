using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// Asks rtnetlink for one neighbour entry (RTM_GETNEIGH without NLM_F_DUMP, the request behind <c>ip neigh get</c>):
/// one round trip, whatever the size of the table. Thread-safe.
/// </summary>
public sealed class NeighbourTable : INeighbourTable, IDisposable
{
    private const int NetlinkRoute = 0;
    private const ushort RtmNewNeigh = 28;
    private const ushort RtmGetNeigh = 30;
    private const ushort NdaDst = 1;
    private const ushort NdaLinkAddress = 2;
    private const ushort NudIncomplete = 0x01;
    private const ushort NudFailed = 0x20;
    private const byte NtfUse = 0x01;
    private const ushort FlagReplace = 0x100;
    private const ushort FlagCreate = 0x400;
    private const int NdmsgLength = 12;

    private readonly Lock _lock = new();
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[4096];
    private uint _sequence;

    public NeighbourTable()
    {
        _socket = NetlinkSocket.Open(NetlinkRoute, 0);
        _socket.ReceiveTimeout = 500;
    }

    public PhysicalAddress? LinkAddressOf(IPAddress address, int interfaceIndex)
    {
        if (interfaceIndex <= 0)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        lock (_lock)
        {
            uint sequence = ++_sequence;
            _socket.Send(Request(address, interfaceIndex, sequence));
            try
            {
                while (true)
                {
                    int received = _socket.Receive(_buffer);
                    if (received < NfnetlinkMessage.HeaderLength)
                    {
                        return null;
                    }

                    if (BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(8)) != sequence)
                    {
                        continue; // the late answer of an earlier, timed-out request
                    }

                    return Parse(_buffer.AsSpan(0, received));
                }
            }
            catch (SocketException)
            {
                return null;
            }
        }
    }

    public void Solicit(IPAddress address, int interfaceIndex)
    {
        if (interfaceIndex <= 0)
        {
            return;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        lock (_lock)
        {
            try
            {
                // NTF_USE: the kernel starts resolving (creating the entry); state and link address are left to it.
                byte[] request = Request(address, interfaceIndex, ++_sequence, RtmNewNeigh, (ushort)(NfnetlinkMessage.FlagRequest | FlagCreate | FlagReplace));
                request[NfnetlinkMessage.HeaderLength + 10] = NtfUse;
                _socket.Send(request);
            }
            catch (SocketException)
            {
                // Only a hint: the lookup after it falls back to the address.
            }
        }
    }

    /// <summary>nlmsghdr, struct ndmsg { family, pad, pad, ifindex, state, flags, type }, NDA_DST.</summary>
    internal static byte[] Request(IPAddress address, int interfaceIndex, uint sequence) =>
        Request(address, interfaceIndex, sequence, RtmGetNeigh, NfnetlinkMessage.FlagRequest);

    private static byte[] Request(IPAddress address, int interfaceIndex, uint sequence, ushort type, ushort flags)
    {
        byte[] destination = address.GetAddressBytes();
        byte[] message = new byte[NfnetlinkMessage.HeaderLength + NdmsgLength + NfnetlinkMessage.Align(4 + destination.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        message[NfnetlinkMessage.HeaderLength] = (byte)(address.AddressFamily == AddressFamily.InterNetwork ? 2 : 10);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(NfnetlinkMessage.HeaderLength + 4), interfaceIndex);
        int at = NfnetlinkMessage.HeaderLength + NdmsgLength;
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(at), (ushort)(4 + destination.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(at + 2), NdaDst);
        destination.CopyTo(message.AsSpan(at + 4));
        return message;
    }

    /// <summary>The link-layer address of an RTM_NEWNEIGH answer whose entry is usable; null for an error, or an entry being resolved or failed.</summary>
    internal static PhysicalAddress? Parse(ReadOnlySpan<byte> answer)
    {
        if (answer.Length < NfnetlinkMessage.HeaderLength + NdmsgLength
            || BinaryPrimitives.ReadUInt16LittleEndian(answer[4..]) != RtmNewNeigh)
        {
            return null;
        }

        // A message shorter than it says it is was cut off: nothing in it is believed.
        uint declared = BinaryPrimitives.ReadUInt32LittleEndian(answer);
        if (declared > (uint)answer.Length || declared < NfnetlinkMessage.HeaderLength + NdmsgLength)
        {
            return null;
        }

        int length = (int)declared;
        if (length < NfnetlinkMessage.HeaderLength + NdmsgLength)
        {
            return null;
        }

        ushort state = BinaryPrimitives.ReadUInt16LittleEndian(answer[(NfnetlinkMessage.HeaderLength + 8)..]);
        if ((state & (NudIncomplete | NudFailed)) != 0)
        {
            return null;
        }

        foreach (NetlinkAttributes attribute in new NetlinkAttributes(answer[(NfnetlinkMessage.HeaderLength + NdmsgLength)..length]))
        {
            if (attribute.Type == NdaLinkAddress && attribute.Payload.Length == 6 && attribute.Payload.IndexOfAnyExcept((byte)0) >= 0)
            {
                return new PhysicalAddress(attribute.Payload.ToArray());
            }
        }

        return null;
    }

    public void Dispose() => _socket.Dispose();
}
