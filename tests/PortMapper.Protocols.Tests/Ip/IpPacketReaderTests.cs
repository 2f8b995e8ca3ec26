using System.Net;
using System.Text;
using PortMapper.Protocols.Ip;

namespace PortMapper.Protocols.Tests.Ip;

public class IpPacketReaderTests
{
    // IPv4 192.168.77.10 -> 203.0.113.2, TCP 40000 -> 554, seq 100, PSH|ACK, payload "OPTIONS * RTSP/1.0\r\n".
    private const string Options4 =
        "45000040 1c464000 4006 0000 c0a84d0a cb007102" +
        "9c40022a 00000064 00000000 5018 7210 0000 0000" +
        "4f5054494f4e53202a20525453502f312e300d0a";

    [Fact]
    public void Read_IPv4_GivesEndpointsSequenceFlagsAndPayload()
    {
        byte[] packet = Hex.Bytes(Options4.Replace("45000040", "4500003c", StringComparison.Ordinal));
        Assert.Equal(IpPacketError.None, IpPacketReader.TryReadTcp(packet, out TcpSegment s));
        Assert.Equal(IPAddress.Parse("192.168.77.10"), s.Source);
        Assert.Equal(IPAddress.Parse("203.0.113.2"), s.Destination);
        Assert.Equal(40000, s.SourcePort);
        Assert.Equal(554, s.DestinationPort);
        Assert.Equal(100u, s.Sequence);
        Assert.Equal(TcpFlags.Psh | TcpFlags.Ack, s.Flags);
        Assert.Equal("OPTIONS * RTSP/1.0\r\n", Encoding.ASCII.GetString(s.Payload));
    }

    [Fact]
    public void Read_LinkPaddingAfterTheIPv4Length_IsNotPayload()
    {
        byte[] packet = [.. Hex.Bytes(Options4.Replace("45000040", "4500003c", StringComparison.Ordinal)), 0, 0, 0, 0];
        Assert.Equal(IpPacketError.None, IpPacketReader.TryReadTcp(packet, out TcpSegment s));
        Assert.Equal(20, s.Payload.Length);
    }

    [Fact]
    public void Read_EveryPrefixOfAPacket_IsTruncated()
    {
        byte[] packet = Hex.Bytes(Options4.Replace("45000040", "4500003c", StringComparison.Ordinal));
        for (int n = 0; n < packet.Length; n++)
        {
            Assert.Equal(IpPacketError.Truncated, IpPacketReader.TryReadTcp(packet.AsSpan(0, n), out _));
        }
    }

    [Fact]
    public void Read_LengthBeyondWhatWasCopied_IsTruncated()
    {
        Assert.Equal(IpPacketError.Truncated, IpPacketReader.TryReadTcp(Hex.Bytes(Options4), out _));
    }

    [Fact]
    public void Read_FragmentsAndOtherProtocols_AreNotSegments()
    {
        byte[] packet = Hex.Bytes(Options4.Replace("45000040", "4500003c", StringComparison.Ordinal));
        byte[] fragment = [.. packet];
        fragment[6] = 0x20; // more fragments
        Assert.Equal(IpPacketError.Fragment, IpPacketReader.TryReadTcp(fragment, out _));
        byte[] udp = [.. packet];
        udp[9] = 17;
        Assert.Equal(IpPacketError.NotTcp, IpPacketReader.TryReadTcp(udp, out _));
        byte[] v5 = [.. packet];
        v5[0] = 0x55;
        Assert.Equal(IpPacketError.BadVersion, IpPacketReader.TryReadTcp(v5, out _));
    }

    [Fact]
    public void Read_IPv6WithHopByHopHeader_SkipsItToTheSegment()
    {
        // 2001:db8:ffff::2 -> 2001:db8:77::10, hop-by-hop (8 octets of padding) then TCP 554 -> 40000 SYN|ACK, no payload.
        byte[] packet = Hex.Bytes(
            "60000000 001c 00 40" + "20010db8ffff00000000000000000002" + "20010db8007700000000000000000010" +
            "06 00 0104 00000000" +
            "022a9c40 0000012c 00000065 5012 7210 0000 0000");
        Assert.Equal(IpPacketError.None, IpPacketReader.TryReadTcp(packet, out TcpSegment s));
        Assert.Equal(IPAddress.Parse("2001:db8:ffff::2"), s.Source);
        Assert.Equal(IPAddress.Parse("2001:db8:77::10"), s.Destination);
        Assert.Equal(554, s.SourcePort);
        Assert.Equal(300u, s.Sequence);
        Assert.True(s.Has(TcpFlags.Syn | TcpFlags.Ack));
        Assert.True(s.Payload.IsEmpty);

        packet[6] = 44; // a fragment header instead
        Assert.Equal(IpPacketError.Fragment, IpPacketReader.TryReadTcp(packet, out _));
    }
}
