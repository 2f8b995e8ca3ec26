using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace PortMapper.Gateway.Upstream;

/// <summary>
/// The PCP servers the WAN's DHCP client was told of (RFC 7291: DHCPv4 option 158, DHCPv6 option 86), read from
/// the client's lease file: dhcpcd keeps the server's whole answer (<c>/var/lib/dhcpcd/WAN.lease</c>, <c>.lease6</c>),
/// ISC dhclient a text block per lease with the option as <c>unknown-158</c> or under the name its configuration
/// gave code 158. A DHCPv4 lease counts only while it is for the WAN's current address (a stale file names nothing);
/// of DHCPv6 servers only IPv4-mapped addresses count (the upstream is asked for the WAN's IPv4 address).
/// </summary>
public static partial class DhcpPcpServers
{
    public const byte V4Option = 158;
    public const ushort V6Option = 86;

    /// <summary>Lease files larger than this are not read (dhclient's file grows by a block per renewal).</summary>
    private const long MaxFileBytes = 1 << 20;

    private const int BootpHeader = 236;
    private static readonly byte[] s_cookie = [99, 130, 83, 99];

    /// <summary>Where Debian's DHCP clients keep the lease of <paramref name="wan"/>.</summary>
    public static IReadOnlyList<string> DefaultLeaseFiles(string wan) =>
    [
        $"/var/lib/dhcpcd/{wan}.lease",
        $"/var/lib/dhcpcd/{wan}.lease6",
        $"/var/lib/dhcpcd5/dhcpcd-{wan}.lease",
        $"/var/lib/dhcp/dhclient.{wan}.leases",
        "/var/lib/dhcp/dhclient.leases",
        $"/var/lib/dhcp/dhclient6.{wan}.leases",
        "/var/lib/dhcp/dhclient6.leases",
    ];

    /// <summary>
    /// The servers named by the newest of <paramref name="files"/> that names any, in the order given (each server's
    /// addresses in turn), the file, and the option they came in (158 or 86); null when none does.
    /// </summary>
    public static (IReadOnlyList<IPAddress> Servers, string File, ushort Option)? Read(IEnumerable<string> files, string wanInterface, IPAddress wanAddress, string dhclientConfig = "/etc/dhcp/dhclient.conf")
    {
        var existing = new List<(string Path, DateTime Written)>();
        foreach (string path in files)
        {
            try
            {
                var info = new FileInfo(path);
                if (info.Exists && info.Length <= MaxFileBytes)
                {
                    existing.Add((path, info.LastWriteTimeUtc));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
            }
        }

        (string V4, string V6) names = DhclientNames(dhclientConfig);
        foreach ((string path, _) in existing.OrderByDescending(f => f.Written))
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            (IReadOnlyList<IPAddress> servers, ushort option) = IsDhcpV4Message(bytes) ? (FromDhcpV4Message(bytes, wanAddress), V4Option)
                : path.EndsWith(".lease6", StringComparison.Ordinal) ? (FromDhcpV6Message(bytes), V6Option)
                : DhclientServers(Encoding.UTF8.GetString(bytes), wanInterface, wanAddress, names.V4, names.V6);
            if (servers.Count > 0)
            {
                return (servers, path, option);
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="message"/> is a DHCPv4 (BOOTP) answer with the magic cookie, as dhcpcd stores it.</summary>
    public static bool IsDhcpV4Message(ReadOnlySpan<byte> message) =>
        message.Length >= BootpHeader + 4 && message[0] == 2 && message.Slice(BootpHeader, 4).SequenceEqual(s_cookie);

    /// <summary>Option 158 of a DHCPv4 answer for <paramref name="wanAddress"/> (yiaddr), its instances joined (RFC 3396), the overloaded fields read too.</summary>
    public static IReadOnlyList<IPAddress> FromDhcpV4Message(ReadOnlySpan<byte> message, IPAddress wanAddress)
    {
        if (!IsDhcpV4Message(message) || !wanAddress.Equals(new IPAddress(message.Slice(16, 4))))
        {
            return [];
        }

        var value = new List<byte>();
        int overload = 0;
        if (!CollectV4(message[(BootpHeader + 4)..], value, ref overload))
        {
            return [];
        }

        // Option 52: the file (1), the server name (2) or both (3) fields carry options too, read after the options field.
        int ignored = 0;
        if ((overload & 1) != 0 && !CollectV4(message.Slice(108, 128), value, ref ignored))
        {
            return [];
        }

        if ((overload & 2) != 0 && !CollectV4(message.Slice(44, 64), value, ref ignored))
        {
            return [];
        }

        return ParseV4Option(value.ToArray());
    }

    /// <summary>
    /// The value of option 158 (RFC 7291 §4): one or more lists, each a length byte and that many bytes of IPv4
    /// addresses of one server. A list whose length is 0 or not a multiple of 4, or that runs past the end, makes the
    /// whole option void. Addresses that cannot be a server (unspecified, broadcast, loopback, multicast) are left out.
    /// </summary>
    public static IReadOnlyList<IPAddress> ParseV4Option(ReadOnlySpan<byte> value)
    {
        var servers = new List<IPAddress>();
        while (value.Length > 0)
        {
            int length = value[0];
            if (length == 0 || length % 4 != 0 || length > value.Length - 1)
            {
                return [];
            }

            for (int i = 1; i <= length; i += 4)
            {
                Add(servers, new IPAddress(value.Slice(i, 4)));
            }

            value = value[(1 + length)..];
        }

        return servers;
    }

    /// <summary>Option 86 of a DHCPv6 answer (dhcpcd's <c>.lease6</c>): its IPv4-mapped addresses.</summary>
    public static IReadOnlyList<IPAddress> FromDhcpV6Message(ReadOnlySpan<byte> message)
    {
        // msg-type (REPLY 7, or ADVERTISE 2), transaction id, then options: code, length, value.
        if (message.Length < 4 || message[0] is not (2 or 7))
        {
            return [];
        }

        var servers = new List<IPAddress>();
        ReadOnlySpan<byte> options = message[4..];
        while (options.Length >= 4)
        {
            ushort code = BinaryPrimitives.ReadUInt16BigEndian(options);
            int length = BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (length > options.Length - 4)
            {
                return [];
            }

            if (code == V6Option)
            {
                servers.AddRange(ParseV6Option(options.Slice(4, length)));
            }

            options = options[(4 + length)..];
        }

        return servers;
    }

    /// <summary>The value of option 86 (RFC 7291 §5): IPv6 addresses; a length not a multiple of 16 voids it. Only IPv4-mapped ones are kept.</summary>
    public static IReadOnlyList<IPAddress> ParseV6Option(ReadOnlySpan<byte> value)
    {
        if (value.Length == 0 || value.Length % 16 != 0)
        {
            return [];
        }

        var servers = new List<IPAddress>();
        for (int i = 0; i < value.Length; i += 16)
        {
            var address = new IPAddress(value.Slice(i, 16));
            if (address.IsIPv4MappedToIPv6)
            {
                Add(servers, address.MapToIPv4());
            }
        }

        return servers;
    }

    /// <summary>
    /// dhclient's lease file: the last <c>lease { }</c> block of <paramref name="wanInterface"/> for the WAN address
    /// (<c>fixed-address</c>), option 158 under <c>unknown-158</c> or <paramref name="v4Name"/>; for DHCPv6 the last
    /// <c>lease6 { }</c> block of the interface, option 86 under <c>dhcp6.unknown-86</c> or <paramref name="v6Name"/>.
    /// Values are written as colon-separated hex bytes, or as a quoted string when every byte is printable.
    /// </summary>
    public static IReadOnlyList<IPAddress> FromDhclientLeases(string text, string wanInterface, IPAddress wanAddress, string v4Name = "pcp-server", string v6Name = "dhcp6.pcp-server") =>
        DhclientServers(text, wanInterface, wanAddress, v4Name, v6Name).Servers;

    private static (IReadOnlyList<IPAddress> Servers, ushort Option) DhclientServers(string text, string wanInterface, IPAddress wanAddress, string v4Name, string v6Name)
    {
        IReadOnlyList<IPAddress> v4Found = [], v6Found = [];
        foreach ((bool v6, string body) in DhclientBlocks(text))
        {
            if (InterfaceLine().Match(body) is not { Success: true } iface || iface.Groups[1].Value != wanInterface)
            {
                continue;
            }

            if (!v6 && (FixedAddressLine().Match(body) is not { Success: true } fixedAddress
                || !IPAddress.TryParse(fixedAddress.Groups[1].Value, out IPAddress? leased) || !leased.Equals(wanAddress)))
            {
                continue;
            }

            IReadOnlyList<IPAddress> servers = [];
            foreach (Match option in OptionLine().Matches(body))
            {
                string name = option.Groups["name"].Value;
                bool match = v6 ? name == "dhcp6.unknown-86" || name == v6Name : name == "unknown-158" || name == v4Name;
                if (match && DhclientValue(option.Groups["value"].Value.Trim()) is { } bytes)
                {
                    servers = v6 ? ParseV6Option(bytes) : ParseV4Option(bytes);
                }
            }

            // The last block of each kind for the interface is the current lease: what it names (or that it names nothing) counts.
            if (v6)
            {
                v6Found = servers;
            }
            else
            {
                v4Found = servers;
            }
        }

        return v4Found.Count > 0 ? (v4Found, V4Option) : (v6Found, V6Option);
    }

    /// <summary>The option names dhclient's configuration gives codes 158 and 86 (<c>option NAME code 158 = ...;</c>).</summary>
    public static (string V4, string V6) DhclientNames(string configPath)
    {
        string v4 = "pcp-server", v6 = "dhcp6.pcp-server";
        try
        {
            var info = new FileInfo(configPath);
            if (info.Exists && info.Length <= MaxFileBytes)
            {
                foreach (Match definition in CodeDefinition().Matches(File.ReadAllText(configPath)))
                {
                    string name = definition.Groups["name"].Value;
                    switch (definition.Groups["code"].Value)
                    {
                        case "158" when !name.Contains('.', StringComparison.Ordinal):
                            v4 = name;
                            break;
                        case "86" when name.StartsWith("dhcp6.", StringComparison.Ordinal):
                            v6 = name;
                            break;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return (v4, v6);
    }

    /// <summary>A dhclient option value: <c>4:64:40:0:5</c>, or <c>"..."</c> with backslash escapes (octal or the character).</summary>
    internal static byte[]? DhclientValue(string value)
    {
        var bytes = new List<byte>();
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            string inner = value[1..^1];
            for (int i = 0; i < inner.Length; i++)
            {
                char c = inner[i];
                if (c != '\\')
                {
                    if (c > 0xff)
                    {
                        return null;
                    }

                    bytes.Add((byte)c);
                }
                else if (i + 3 < inner.Length && IsOctal(inner[i + 1]) && IsOctal(inner[i + 2]) && IsOctal(inner[i + 3]))
                {
                    int octal = ((inner[i + 1] - '0') * 64) + ((inner[i + 2] - '0') * 8) + (inner[i + 3] - '0');
                    if (octal > 0xff)
                    {
                        return null;
                    }

                    bytes.Add((byte)octal);
                    i += 3;
                }
                else if (i + 1 < inner.Length && inner[i + 1] <= 0xff)
                {
                    bytes.Add((byte)inner[++i]);
                }
                else
                {
                    return null;
                }
            }

            return [.. bytes];
        }

        foreach (string part in value.Split(':'))
        {
            if (part.Length is 0 or > 2 || !byte.TryParse(part, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                return null;
            }

            bytes.Add(b);
        }

        return [.. bytes];
    }

    /// <summary>The top-level <c>lease { }</c> and <c>lease6 { }</c> blocks of a dhclient lease file, nested blocks (ia-na) inside their body.</summary>
    private static IEnumerable<(bool V6, string Body)> DhclientBlocks(string text)
    {
        int at = 0;
        while (LeaseStart().Match(text, at) is { Success: true } start)
        {
            int depth = 1, i = start.Index + start.Length;
            bool quoted = false;
            for (; i < text.Length && depth > 0; i++)
            {
                char c = text[i];
                if (quoted)
                {
                    if (c == '\\')
                    {
                        i++;
                    }
                    else if (c == '"')
                    {
                        quoted = false;
                    }
                }
                else if (c == '"')
                {
                    quoted = true;
                }
                else if (c == '{')
                {
                    depth++;
                }
                else if (c == '}')
                {
                    depth--;
                }
            }

            if (depth > 0)
            {
                yield break; // cut short (a file being written): the block is not whole
            }

            yield return (start.Groups["six"].Value.Length > 0, text[(start.Index + start.Length)..(i - 1)]);
            at = i;
        }
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';

    /// <summary>Appends every option 158 in <paramref name="options"/> to <paramref name="value"/>; false when the field is malformed.</summary>
    private static bool CollectV4(ReadOnlySpan<byte> options, List<byte> value, ref int overload)
    {
        while (options.Length > 0)
        {
            byte code = options[0];
            if (code == 255)
            {
                return true;
            }

            if (code == 0)
            {
                options = options[1..];
                continue;
            }

            if (options.Length < 2 || options[1] > options.Length - 2)
            {
                return false;
            }

            ReadOnlySpan<byte> data = options.Slice(2, options[1]);
            if (code == V4Option)
            {
                value.AddRange(data);
            }
            else if (code == 52 && data.Length == 1)
            {
                overload = data[0];
            }

            options = options[(2 + data.Length)..];
        }

        return true;
    }

    private static void Add(List<IPAddress> servers, IPAddress address)
    {
        byte[] b = address.GetAddressBytes();
        bool usable = address.AddressFamily == AddressFamily.InterNetwork && b[0] is not (0 or 127) && b[0] < 224;
        if (usable && !servers.Contains(address))
        {
            servers.Add(address);
        }
    }

    [GeneratedRegex(@"(?<![A-Za-z0-9.-])lease(?<six>6?)\s*\{", RegexOptions.CultureInvariant)]
    private static partial Regex LeaseStart();

    [GeneratedRegex(@"^\s*interface\s+""([^""]*)""\s*;", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex InterfaceLine();

    [GeneratedRegex(@"^\s*fixed-address\s+([0-9.]+)\s*;", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex FixedAddressLine();

    [GeneratedRegex(@"^\s*option\s+(?<name>[A-Za-z0-9.-]+)\s+(?<value>""(?:[^""\\\r\n]|\\.)*""|[^;""\r\n]*)\s*;", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex OptionLine();

    [GeneratedRegex(@"^\s*option\s+(?<name>[A-Za-z0-9.-]+)\s+code\s+(?<code>\d+)\s*=", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex CodeDefinition();
}
