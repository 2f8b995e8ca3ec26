using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// An interface's IPv4 addresses from rtnetlink (an RTM_GETADDR dump of one family, the request behind
/// <c>ip -4 addr show</c>), in the kernel's order: the primary address first. One socket per read, a buffer reused,
/// no file read per interface: the WAN monitor calls it on every address event.
/// </summary>
public static partial class AddressTable
{
    private const int NetlinkRoute = 0;
    private const ushort RtmNewAddr = 20;
    private const ushort RtmGetAddr = 22;
    private const ushort NlmsgDone = 3;
    private const ushort FlagDump = 0x300; // NLM_F_ROOT | NLM_F_MATCH
    private const ushort IfaAddress = 1;
    private const ushort IfaLocal = 2;
    private const int IfaddrmsgLength = 8;
    private const byte AfInet = 2;

    /// <summary>The interface's IPv4 addresses (IFA_LOCAL, else IFA_ADDRESS), primary first; empty when it has none or does not exist.</summary>
    public static List<IPAddress> IPv4Addresses(string interfaceName)
    {
        var result = new List<IPAddress>(2);
        uint index = IfNameToIndex(interfaceName);
        if (index == 0)
        {
            return result;
        }

        using Socket socket = NetlinkSocket.Open(NetlinkRoute, 0);
        socket.ReceiveTimeout = 1000;
        socket.Send(Request(sequence: 1));
        byte[] buffer = ArrayPool<byte>.Shared.Rent(32768);
        try
        {
            while (true)
            {
                int received = socket.Receive(buffer);
                if (received <= 0 || Parse(buffer.AsSpan(0, received), index, result))
                {
                    return result;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>nlmsghdr + struct ifaddrmsg { family, prefixlen, flags, scope, index }, a dump of one family.</summary>
    internal static byte[] Request(uint sequence)
    {
        byte[] message = new byte[NfnetlinkMessage.HeaderLength + IfaddrmsgLength];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), RtmGetAddr);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), NfnetlinkMessage.FlagRequest | FlagDump);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        message[NfnetlinkMessage.HeaderLength] = AfInet;
        return message;
    }

    /// <summary>Adds the addresses of <paramref name="index"/> in one datagram of the dump; true once the dump is over (done, an error, or a cut message).</summary>
    internal static bool Parse(ReadOnlySpan<byte> datagram, uint index, List<IPAddress> addresses)
    {
        var messages = new NetlinkMessages(datagram);
        while (messages.MoveNext())
        {
            NetlinkMessages message = messages;
            if (message.Type is NlmsgDone or NfnetlinkMessage.NlmsgError)
            {
                return true;
            }

            if (message.Type != RtmNewAddr || message.Payload.Length < IfaddrmsgLength
                || message.Payload[0] != AfInet || BinaryPrimitives.ReadUInt32LittleEndian(message.Payload[4..]) != index)
            {
                continue;
            }

            IPAddress? local = null, address = null;
            foreach (NetlinkAttributes attribute in new NetlinkAttributes(message.Payload[IfaddrmsgLength..]))
            {
                if (attribute.Payload.Length != 4)
                {
                    continue;
                }

                if (attribute.Type == IfaLocal)
                {
                    local = new IPAddress(attribute.Payload);
                }
                else if (attribute.Type == IfaAddress)
                {
                    address = new IPAddress(attribute.Payload);
                }
            }

            if ((local ?? address) is { } found)
            {
                addresses.Add(found);
            }
        }

        return messages.Truncated;
    }

    [LibraryImport("libc", EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint IfNameToIndex(string name);
}
