using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using PortMapper.KernelBackend.Host;
using PortMapper.KernelBackend.Netlink;

namespace PortMapper.KernelBackend.Tests;

/// <summary>What the kernel tells about the host: its own sockets (/proc/net), its neighbours (rtnetlink), its flows (ctnetlink).</summary>
public sealed class HostFactsTests : IDisposable
{
    private static readonly IPAddress s_wan = IPAddress.Parse("203.0.113.1");
    private readonly string _root = Path.Combine(Path.GetTempPath(), "procnet-" + Guid.NewGuid().ToString("n"));

    public HostFactsTests()
    {
        Directory.CreateDirectory(_root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private const string Header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    [Theory]
    [InlineData("   0: 00000000:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1", "0.0.0.0", 2222, "0A")]
    [InlineData("   1: 017100CB:0016 0A00A8C0:C350 01 00000000:00000000 02:000AF1B9 00000000     0        0 5678 4", "203.0.113.1", 22, "01")]
    [InlineData("   2: 00000000000000000000000000000000:CA6C 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 0 2", "::", 51820, "07")]
    [InlineData("   3: 0000000000000000FFFF0000017100CB:1194 00000000000000000000000000000000:0000 07 0 0 0 0 0 0 0", "::ffff:203.0.113.1", 4500, "07")]
    public void ProcNetLine_Parses(string line, string address, ushort port, string state)
    {
        Assert.True(ProcNetPorts.TryParseLine(line, out IPAddress local, out ushort parsedPort, out string parsedState));
        Assert.Equal(IPAddress.Parse(address), local);
        Assert.Equal((port, state), (parsedPort, parsedState));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   0: 00000000:08AE")]
    [InlineData("   0: 0000000:08AE 00000000:0000 0A")]
    [InlineData("   0: 00000000:XYZ 00000000:0000 0A")]
    [InlineData("   0: 0000000G:08AE 00000000:0000 0A")]
    public void ProcNetLine_Malformed_IsRefused(string line) => Assert.False(ProcNetPorts.TryParseLine(line, out _, out _, out _));

    [Fact]
    public void ProcNet_OwnPorts_AreListenersAndBoundUdpOnTheWanOrAWildcard()
    {
        File.WriteAllText(Path.Combine(_root, "tcp"), Header
            + "   0: 00000000:08AE 00000000:0000 0A 0 0 0 0 0 1 1\n"   // sshd on *:2222, listening
            + "   1: 017100CB:01BB 00000000:0000 0A 0 0 0 0 0 1 1\n"   // on the WAN address:443, listening
            + "   2: 0101A8C0:1F90 00000000:0000 0A 0 0 0 0 0 1 1\n"   // on a LAN address:8080: not the WAN's
            + "   3: 017100CB:C350 020200CB:0050 01 0 0 0 0 0 1 1\n"); // an outbound connection: not a listener
        File.WriteAllText(Path.Combine(_root, "udp"), Header
            + "   0: 00000000:CA6C 00000000:0000 07 0 0 0 0 0 0 0\n"   // WireGuard's kernel socket on *:51820
            + "   1: 0100007F:0035 00000000:0000 07 0 0 0 0 0 1 1\n"); // a resolver on 127.0.0.1:53
        File.WriteAllText(Path.Combine(_root, "udp6"), Header
            + "   0: 00000000000000000000000000000000:01F4 00000000000000000000000000000000:0000 07 0 0 0 0 0 0 0\n"); // IKE on [::]:500

        HostPortSet ports = new ProcNetPorts(_root).Read(s_wan);

        Assert.True(ports.Contains(TransportProtocol.Tcp, 2222));
        Assert.True(ports.Contains(TransportProtocol.Tcp, 443));
        Assert.False(ports.Contains(TransportProtocol.Tcp, 8080));
        Assert.False(ports.Contains(TransportProtocol.Tcp, 50000));
        Assert.True(ports.Contains(TransportProtocol.Udp, 51820));
        Assert.True(ports.Contains(TransportProtocol.Udp, 500));
        Assert.False(ports.Contains(TransportProtocol.Udp, 53));
        Assert.False(ports.Contains(TransportProtocol.Udp, 2222));
        Assert.Equal(4, ports.Count);
        Assert.Equal(2, new ProcNetPorts(_root).Read(s_wan, TransportProtocol.Udp).Count);
    }

    [Fact]
    public void ProcNet_OfThisMachine_ReadsWithoutFailing()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Any, 0);
        listener.Start();
        ushort port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        Assert.True(new ProcNetPorts().Read(null).Contains(TransportProtocol.Tcp, port));
    }

    [Fact]
    public void SocketDiag_OfThisMachine_FindsATcpListenerAndABoundUdpSocket_NotAConnectedTcpClient()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Any, 0);
        listener.Start();
        ushort tcpPort = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        using var udp = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.IPv6Any, 0));
        ushort udpPort = (ushort)((IPEndPoint)udp.Client.LocalEndPoint!).Port;
        using var client = new System.Net.Sockets.TcpClient();
        client.Connect(IPAddress.Loopback, tcpPort);
        ushort clientPort = (ushort)((IPEndPoint)client.Client.LocalEndPoint!).Port;

        using var diag = new SocketDiag(new ThrowingFallback());
        HostPortSet ports = diag.Read(null);
        Assert.True(ports.Contains(TransportProtocol.Tcp, tcpPort));
        Assert.True(ports.Contains(TransportProtocol.Udp, udpPort));
        Assert.False(ports.Contains(TransportProtocol.Tcp, clientPort)); // bound to 127.0.0.1, and not a listener

        // One protocol at a time, for a request of that protocol.
        HostPortSet tcpOnly = diag.Read(null, TransportProtocol.Tcp);
        Assert.True(tcpOnly.Contains(TransportProtocol.Tcp, tcpPort));
        Assert.False(tcpOnly.Contains(TransportProtocol.Udp, udpPort));
    }

    [Fact]
    public void SocketDiag_Message_GivesTheLocalEndpoint()
    {
        byte[] message = new byte[72];
        message[0] = 2;
        message[1] = 10;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(4), 2222);
        s_wan.GetAddressBytes().CopyTo(message, 8);
        Assert.True(SocketDiag.TryParse(message, out IPAddress local, out ushort port));
        Assert.Equal((s_wan, (ushort)2222), (local, port));
        Assert.False(SocketDiag.TryParse(message.AsSpan(0, 71), out _, out _));
        message[0] = 7;
        Assert.False(SocketDiag.TryParse(message, out _, out _));
    }

    [Fact]
    public void NetlinkMessages_WalkWholeMessages_AndSayWhenOneIsCutShort()
    {
        byte[] two = [.. NeighbourAnswer(28, 0x02, (2, s_mac)), .. NeighbourAnswer(3, 0)];
        var messages = new NetlinkMessages(two);
        var types = new List<ushort>();
        while (messages.MoveNext())
        {
            types.Add(messages.Type);
        }

        Assert.Equal([(ushort)28, (ushort)3], types);
        Assert.False(messages.Truncated);
        for (int cut = 17; cut < two.Length; cut++)
        {
            var prefix = new NetlinkMessages(two.AsSpan(0, cut));
            int whole = 0;
            while (prefix.MoveNext())
            {
                whole++;
            }

            Assert.True(prefix.Truncated || cut == 40, $"cut at {cut}");
            Assert.Equal(cut >= 40 ? 1 : 0, whole);
        }
    }

    private sealed class ThrowingFallback : IHostPorts
    {
        public HostPortSet Read(IPAddress? externalAddress, TransportProtocol? only = null) => throw new InvalidOperationException("sock_diag should have answered");
    }

    /// <summary>An RTM_NEWNEIGH answer: nlmsghdr, ndmsg, then attributes.</summary>
    private static byte[] NeighbourAnswer(ushort type, ushort state, params (ushort Type, byte[] Value)[] attributes)
    {
        int length = 16 + 12 + attributes.Sum(a => (4 + a.Value.Length + 3) & ~3);
        byte[] m = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(4), type);
        m[16] = 2;
        BinaryPrimitives.WriteInt32LittleEndian(m.AsSpan(20), 3);
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(24), state);
        int at = 28;
        foreach (var (attributeType, value) in attributes)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(at), (ushort)(4 + value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(at + 2), attributeType);
            value.CopyTo(m, at + 4);
            at += (4 + value.Length + 3) & ~3;
        }

        return m;
    }

    private static readonly byte[] s_mac = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];

    [Fact]
    public void Neighbour_ReachableOrStaleEntry_GivesItsMac()
    {
        byte[] reachable = NeighbourAnswer(28, 0x02, (1, [192, 168, 77, 10]), (2, s_mac));
        Assert.Equal(new PhysicalAddress(s_mac), NeighbourTable.Parse(reachable));
        byte[] stale = NeighbourAnswer(28, 0x04, (2, s_mac), (1, [192, 168, 77, 10]));
        Assert.Equal(new PhysicalAddress(s_mac), NeighbourTable.Parse(stale));
    }

    [Fact]
    public void Neighbour_NoUsableEntry_GivesNothing()
    {
        Assert.Null(NeighbourTable.Parse(NeighbourAnswer(28, 0x01, (2, s_mac))));               // incomplete
        Assert.Null(NeighbourTable.Parse(NeighbourAnswer(28, 0x20, (2, s_mac))));               // failed
        Assert.Null(NeighbourTable.Parse(NeighbourAnswer(2, 0, (2, s_mac))));                   // NLMSG_ERROR
        Assert.Null(NeighbourTable.Parse(NeighbourAnswer(28, 0x02, (2, new byte[6]))));          // all zero
        Assert.Null(NeighbourTable.Parse(NeighbourAnswer(28, 0x02, (2, [1, 2, 3, 4]))));         // not 48 bits
        Assert.Null(NeighbourTable.Parse(NeighbourAnswer(28, 0x02, (1, [192, 168, 77, 10])))); // no link address
        byte[] whole = NeighbourAnswer(28, 0x02, (2, s_mac));
        for (int cut = 0; cut < whole.Length; cut++)
        {
            Assert.Null(NeighbourTable.Parse(whole.AsSpan(0, cut)));
        }
    }

    [Fact]
    public void Neighbour_Request_IsAnRtmGetNeighForOneAddressOnOneInterface()
    {
        byte[] request = NeighbourTable.Request(IPAddress.Parse("2001:db8:77::10"), 7, 99);
        Assert.Equal(request.Length, (int)BinaryPrimitives.ReadUInt32LittleEndian(request));
        Assert.Equal(30, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(4)));
        Assert.Equal(99u, BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(8)));
        Assert.Equal(10, request[16]);
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(request.AsSpan(20)));
        Assert.Equal(20, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(28)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(request.AsSpan(30)));
        Assert.Equal(IPAddress.Parse("2001:db8:77::10").GetAddressBytes(), request.AsSpan(32, 16).ToArray());
    }

    private static readonly IPAddress s_lanA = IPAddress.Parse("192.168.77.10");
    private static readonly IPAddress s_lanB = IPAddress.Parse("192.168.77.11");
    private static readonly IPAddress s_peer = IPAddress.Parse("198.51.100.9");

    private static FlowTuple T(IPAddress source, ushort sourcePort, IPAddress destination, ushort destinationPort) => new(source, sourcePort, destination, destinationPort, 6);

    [Fact]
    public void Flow_InboundThroughTheMapping_IsTheLeases()
    {
        var lease = new FlowEndpoint(s_wan, TransportProtocol.Tcp, 8080, null, s_lanA, 80);
        Assert.True(FlowTuple.Admitted(lease, T(s_peer, 40000, s_wan, 8080), T(s_lanA, 80, s_peer, 40000)));
    }

    [Fact]
    public void Flow_AnotherHostsMasqueradedFlowOnThatPort_IsNotTheLeases()
    {
        // Host B went out from port 5555, and masquerade gave it the external port 8080 before the lease took it.
        var lease = new FlowEndpoint(s_wan, TransportProtocol.Tcp, 8080, null, s_lanA, 80);
        Assert.False(FlowTuple.Admitted(lease, T(s_lanB, 5555, s_peer, 443), T(s_peer, 443, s_wan, 8080)));
    }

    [Fact]
    public void Flow_TheGatewaysOwnFlowOnThatPort_IsNotTheLeases()
    {
        var lease = new FlowEndpoint(s_wan, TransportProtocol.Tcp, 8080, null, s_lanA, 80);
        Assert.False(FlowTuple.Admitted(lease, T(s_wan, 8080, s_peer, 443), T(s_peer, 443, s_wan, 8080)));

        // Nor an inbound connection to the gateway itself on that port (one it accepted before the mapping).
        Assert.False(FlowTuple.Admitted(lease, T(s_peer, 40000, s_wan, 8080), T(s_wan, 8080, s_peer, 40000)));
    }

    [Fact]
    public void Flow_ItsOwnPortPreservedOutboundFlow_IsTheLeases()
    {
        var lease = new FlowEndpoint(s_wan, TransportProtocol.Tcp, 8080, null, s_lanA, 8080);
        Assert.True(FlowTuple.Admitted(lease, T(s_lanA, 8080, s_peer, 443), T(s_peer, 443, s_wan, 8080)));
        Assert.False(FlowTuple.Admitted(lease with { Protocol = TransportProtocol.Udp }, T(s_lanA, 8080, s_peer, 443), T(s_peer, 443, s_wan, 8080)));
    }

    [Fact]
    public void Flow_Pinhole_AndFromLimitedOpening()
    {
        IPAddress host6 = IPAddress.Parse("2001:db8:77::10");
        IPAddress peer6 = IPAddress.Parse("2001:db8:1::9");
        var pinhole = new FlowEndpoint(host6, TransportProtocol.Tcp, 22);
        Assert.True(FlowTuple.Admitted(pinhole, T(peer6, 40000, host6, 22), T(host6, 22, peer6, 40000)));
        Assert.False(FlowTuple.Admitted(pinhole, T(host6, 22, peer6, 40000), T(peer6, 40000, host6, 22)));

        var media = new FlowEndpoint(s_wan, TransportProtocol.Tcp, 6970, s_peer);
        Assert.True(FlowTuple.Admitted(media, T(s_peer, 5000, s_wan, 6970), T(s_lanA, 6970, s_peer, 5000)));
        Assert.False(FlowTuple.Admitted(media, T(IPAddress.Parse("198.51.100.10"), 5000, s_wan, 6970), T(s_lanA, 6970, s_peer, 5000)));
    }
}
