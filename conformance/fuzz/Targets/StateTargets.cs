using System.Buffers;
using System.Net;
using System.Text;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Persistence;
using PortMapper.KernelBackend;
using PortMapper.KernelBackend.Netlink;

namespace PortMapper.Fuzz;

/// <summary>What the daemon reads from the kernel, from its own journal and from its config file.</summary>
internal static class StateTargets
{
    private static readonly Dictionary<(IPAddress, byte, ushort), FlowEndpoint[]> s_wanted = new()
    {
        [(FuzzGateway.External, (byte)17, (ushort)5000)] = [new FlowEndpoint(FuzzGateway.External, TransportProtocol.Udp, 5000, null, FuzzGateway.Client4, 5000)],
        [(FuzzGateway.Client6, (byte)6, (ushort)443)] = [new FlowEndpoint(FuzzGateway.Client6, TransportProtocol.Tcp, 443)],
    };

    /// <summary>Input: a selector octet, then one datagram as the kernel would send it to that reader.</summary>
    public static void Netlink(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        ReadOnlySpan<byte> datagram = input.AsSpan(1);
        switch (input[0] % 6)
        {
            case 0:
                var found = new List<byte[]>();
                _ = ConntrackTable.ReadDump(datagram, s_wanted, found);
                int longest = found.Count == 0 ? 0 : found.Max(f => f.Length);
                InvariantException.Check(longest <= datagram.Length, "a tuple longer than its datagram");
                break;
            case 1:
                _ = NeighbourTable.Parse(datagram);
                break;
            case 2:
                if (SocketDiag.TryParse(datagram, out IPAddress local, out _))
                {
                    InvariantException.Check(local is not null, "a socket without an address");
                }

                break;
            case 3:
                _ = NftablesMonitor.MayRemove(datagram, "portmapper"u8, "sentinel"u8);
                break;
            case 5:
                var addresses = new List<IPAddress>();
                _ = AddressTable.Parse(datagram, 1, addresses);
                InvariantException.Check(addresses.Count * 24 <= datagram.Length, "more addresses than address messages");
                InvariantException.Check(addresses.TrueForAll(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork), "an address not IPv4");
                break;
            default:
                if (FlowTuple.Read(datagram) is { } tuple)
                {
                    InvariantException.Check(tuple.Source is not null && tuple.Destination is not null, "a flow tuple without addresses");
                }

                break;
        }
    }

    /// <summary>
    /// Input: the journal as found on disk twice over: first raw (torn tails, bad checksums), then each 0xFF-separated
    /// piece framed as an intact record (so the record decoders see every shape); read as at start and restored
    /// into a lease table, as the engine does.
    /// </summary>
    public static void Journal(byte[] input)
    {
        Load(input);
        var framed = new ArrayBufferWriter<byte>();
        foreach (ReadOnlyMemory<byte> piece in Split(input, 0xFF))
        {
            if (!piece.IsEmpty && piece.Length <= 4096)
            {
                JournalCodec.Frame(framed, piece.Span);
            }
        }

        Load(framed.WrittenSpan);
    }

    /// <summary>Input: the config file's text; read, then resolved against a router's interfaces.</summary>
    public static void Config(byte[] input)
    {
        var errors = new List<string>();
        GatewaySettings settings = ConfigFile.Read(Encoding.UTF8.GetString(input), new GatewaySettings(), errors);
        if (errors.Count > 0)
        {
            return;
        }

        GatewayOptions? options = GatewayConfiguration.Resolve(settings, new Inventory(), errors);
        InvariantException.Check(options is not null || errors.Count > 0, "a configuration neither resolved nor refused with a reason");
    }

    private static void Load(ReadOnlySpan<byte> journal)
    {
        StoredState state = LeaseStore.Read(journal, out int intact);
        InvariantException.Check(intact >= 0 && intact <= journal.Length && state.DiscardedBytes == journal.Length - intact, "journal lengths");
        var gateway = new FuzzGateway(withOthers: false); // at start the table is empty
        foreach (Lease lease in state.Leases)
        {
            _ = gateway.Table.Restore(lease, FuzzGateway.Now);
        }

        // Whatever the journal says, no external port ends up held by two leases.
        var held = gateway.Table.Leases.Where(l => !l.IsPinhole).Select(l => (l.Protocol, l.ExternalPort)).ToList();
        InvariantException.Check(held.Count == held.Distinct().Count(), "two leases restored on one external port");
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Split(byte[] input, byte separator)
    {
        int start = 0;
        for (int i = 0; i <= input.Length; i++)
        {
            if (i == input.Length || input[i] == separator)
            {
                yield return input.AsMemory(start, i - start);
                start = i + 1;
            }
        }
    }

    private sealed class Inventory : INetworkInventory
    {
        public IReadOnlyList<NetworkInterfaceInfo> Interfaces() =>
        [
            new("eth0", 2, true, false, [new InterfaceAddress(FuzzGateway.External, 24)]),
            new("br-lan", 3, true, false, [new InterfaceAddress(IPAddress.Parse("192.168.77.1"), 24), new InterfaceAddress(IPAddress.Parse("fd00:77::1"), 64)]),
            new("lo", 1, true, true, [new InterfaceAddress(IPAddress.Loopback, 8)]),
        ];

        public string? DefaultRouteInterface() => "eth0";
    }
}
