using System.Buffers.Binary;
using System.Net.Sockets;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// The nftables ruleset generation of this network namespace (NFT_MSG_GETGEN): the kernel counts it up with every
/// committed transaction, whoever commits it. Two equal readings mean nothing in the ruleset changed between them.
/// </summary>
public static class NftablesGeneration
{
    private const int NfnlSubsysNftables = 10;
    private const ushort GetGen = 16; // NFT_MSG_GETGEN
    private const ushort NewGen = 15; // NFT_MSG_NEWGEN
    private const ushort AttributeId = 1; // NFTA_GEN_ID

    /// <summary>The current generation, or null when the kernel does not tell it (no nf_tables, no permission).</summary>
    public static uint? Read()
    {
        try
        {
            using Socket socket = NetlinkSocket.Open(NfnetlinkMessage.NetlinkNetfilter, 0);
            socket.ReceiveTimeout = 1000;
            const uint sequence = 1;
            socket.Send(NfnetlinkMessage.Build((NfnlSubsysNftables << 8) | GetGen, NfnetlinkMessage.FlagRequest, sequence, 0, 0, []));
            byte[] buffer = new byte[8192];
            int received = socket.Receive(buffer);
            return Parse(buffer.AsSpan(0, received), sequence);
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>The generation in the kernel's NEWGEN answer to <paramref name="sequence"/>.</summary>
    internal static uint? Parse(ReadOnlySpan<byte> datagram, uint sequence)
    {
        foreach (NetlinkMessages message in new NetlinkMessages(datagram))
        {
            if (message.Sequence != sequence || message.Type != ((NfnlSubsysNftables << 8) | NewGen) || message.Payload.Length < 4)
            {
                continue;
            }

            foreach (NetlinkAttributes attribute in new NetlinkAttributes(message.Payload[4..]))
            {
                if (attribute.Type == AttributeId && attribute.Payload.Length == 4)
                {
                    return BinaryPrimitives.ReadUInt32BigEndian(attribute.Payload);
                }
            }
        }

        return null;
    }
}
