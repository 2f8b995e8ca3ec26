using System.Buffers.Binary;
using System.Net;

namespace PortMapper.Protocols.Ip;

/// <summary>Reads the TCP segment out of an IPv4 or IPv6 packet, as NFLOG hands packets over (from the network header).</summary>
public static class IpPacketReader
{
    private const byte Tcp = 6;
    private const byte HopByHop = 0;
    private const byte Routing = 43;
    private const byte Fragment = 44;
    private const byte DestinationOptions = 60;
    private const int TcpMinimum = 20;

    /// <summary>
    /// IPv4 (RFC 791 §3.1) or IPv6 (RFC 8200 §3) with hop-by-hop, routing and destination-options headers skipped,
    /// then TCP (RFC 9293 §3.1):
    /// <code>
    /// |          Source Port          |       Destination Port        |
    /// |                        Sequence Number                        |
    /// |                    Acknowledgment Number                      |
    /// |  Data |       |C|E|U|A|P|R|S|F|                               |
    /// | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
    /// </code>
    /// The payload ends where the IP length says, so link-layer padding is never taken for data.
    /// </summary>
    public static IpPacketError TryReadTcp(ReadOnlySpan<byte> packet, out TcpSegment segment)
    {
        segment = default;
        if (packet.IsEmpty)
        {
            return IpPacketError.Truncated;
        }

        IPAddress source, destination;
        ReadOnlySpan<byte> transport;
        switch (packet[0] >> 4)
        {
            case 4:
            {
                int headerLength = (packet[0] & 0x0F) * 4;
                if (packet.Length < 20 || headerLength < 20)
                {
                    return IpPacketError.Truncated;
                }

                int total = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
                if (total < headerLength || total > packet.Length)
                {
                    return IpPacketError.Truncated;
                }

                // More-fragments set, or a fragment offset: not a whole segment.
                if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x3FFF) != 0)
                {
                    return IpPacketError.Fragment;
                }

                if (packet[9] != Tcp)
                {
                    return IpPacketError.NotTcp;
                }

                source = new IPAddress(packet.Slice(12, 4));
                destination = new IPAddress(packet.Slice(16, 4));
                transport = packet[headerLength..total];
                break;
            }

            case 6:
            {
                if (packet.Length < 40)
                {
                    return IpPacketError.Truncated;
                }

                int end = 40 + BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
                if (end > packet.Length)
                {
                    return IpPacketError.Truncated;
                }

                byte next = packet[6];
                int at = 40;
                while (next is HopByHop or Routing or DestinationOptions)
                {
                    if (at + 8 > end)
                    {
                        return IpPacketError.Truncated;
                    }

                    byte following = packet[at];
                    at += (packet[at + 1] + 1) * 8;
                    next = following;
                }

                if (next == Fragment)
                {
                    return IpPacketError.Fragment;
                }

                if (next != Tcp)
                {
                    return IpPacketError.NotTcp;
                }

                if (at > end)
                {
                    return IpPacketError.Truncated;
                }

                source = new IPAddress(packet.Slice(8, 16));
                destination = new IPAddress(packet.Slice(24, 16));
                transport = packet[at..end];
                break;
            }

            default:
                return IpPacketError.BadVersion;
        }

        if (transport.Length < TcpMinimum)
        {
            return IpPacketError.Truncated;
        }

        int dataOffset = (transport[12] >> 4) * 4;
        if (dataOffset < TcpMinimum || dataOffset > transport.Length)
        {
            return IpPacketError.Truncated;
        }

        segment = new TcpSegment(
            source,
            BinaryPrimitives.ReadUInt16BigEndian(transport),
            destination,
            BinaryPrimitives.ReadUInt16BigEndian(transport[2..]),
            BinaryPrimitives.ReadUInt32BigEndian(transport[4..]),
            (TcpFlags)(transport[13] & 0x1F),
            transport[dataOffset..]);
        return IpPacketError.None;
    }
}
