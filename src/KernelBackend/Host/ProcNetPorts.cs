using System.Buffers.Binary;
using System.Globalization;
using System.Net;

namespace PortMapper.KernelBackend.Host;

/// <summary>
/// Reads the gateway's own sockets from <c>/proc/net/{tcp,tcp6,udp,udp6}</c> of the network namespace the daemon
/// runs in. Kernel sockets (WireGuard's UDP port, say) are listed there too, without an owning process. The
/// fallback of <see cref="Netlink.SocketDiag"/>: reading these files walks the whole TCP hash table.
/// </summary>
public sealed class ProcNetPorts : IHostPorts
{
    private const string TcpListen = "0A";
    private readonly string _root;

    public ProcNetPorts(string root = "/proc/net")
    {
        _root = root;
    }

    public HostPortSet Read(IPAddress? externalAddress, TransportProtocol? only = null)
    {
        var tcp = new HashSet<ushort>();
        var udp = new HashSet<ushort>();
        foreach (string file in only == TransportProtocol.Udp ? [] : (string[])["tcp", "tcp6"])
        {
            Collect(Path.Combine(_root, file), externalAddress, listenOnly: true, tcp);
        }

        foreach (string file in only == TransportProtocol.Tcp ? [] : (string[])["udp", "udp6"])
        {
            Collect(Path.Combine(_root, file), externalAddress, listenOnly: false, udp);
        }

        return new HostPortSet(tcp, udp);
    }

    private static void Collect(string path, IPAddress? externalAddress, bool listenOnly, HashSet<ushort> ports)
    {
        IEnumerable<string> lines;
        try
        {
            lines = File.ReadLines(path).Skip(1);
            foreach (string line in lines)
            {
                if (TryParseLine(line, out IPAddress? local, out ushort port, out string state)
                    && (!listenOnly || state == TcpListen)
                    && IsWildcardOrExternal(local, externalAddress))
                {
                    ports.Add(port);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A kernel without IPv6 has no tcp6/udp6.
        }
    }

    /// <summary>
    /// One line: "  sl  local_address rem_address   st ...", the local address as hex words in host order and the
    /// port as hex, e.g. <c>0: 0100007F:0035 00000000:0000 0A</c>.
    /// </summary>
    internal static bool TryParseLine(string line, out IPAddress local, out ushort port, out string state)
    {
        local = IPAddress.None;
        port = 0;
        state = string.Empty;
        string[] fields = line.Split(' ', 5, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 4)
        {
            return false;
        }

        string[] endpoint = fields[1].Split(':');
        if (endpoint.Length != 2 || (endpoint[0].Length != 8 && endpoint[0].Length != 32)
            || !ushort.TryParse(endpoint[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out port))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[endpoint[0].Length / 2];
        for (int word = 0; word < bytes.Length / 4; word++)
        {
            if (!uint.TryParse(endpoint[0].AsSpan(word * 8, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint value))
            {
                return false;
            }

            // The kernel prints each 32-bit word of the address as the host stores it.
            if (BitConverter.IsLittleEndian)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes[(word * 4)..], value);
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(bytes[(word * 4)..], value);
            }
        }

        local = new IPAddress(bytes);
        state = fields[3];
        return true;
    }

    /// <summary>Whether a socket bound to <paramref name="local"/> takes the port from a mapping of the external address.</summary>
    internal static bool IsWildcardOrExternal(IPAddress local, IPAddress? externalAddress) =>
        IsWildcard(local) || (externalAddress is not null && SameAddress(local, externalAddress));

    private static bool IsWildcard(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    private static bool SameAddress(IPAddress local, IPAddress external) =>
        local.Equals(external) || (local.IsIPv4MappedToIPv6 && local.MapToIPv4().Equals(external));
}
