using System.Net;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Upstream;

namespace PortMapper.Gateway.Tests;

public class DhcpPcpServersTests
{
    private static readonly IPAddress s_wan = IPAddress.Parse("100.64.0.54");

    /// <summary>A lease dhcpcd 9.4.1 wrote (/var/lib/dhcpcd/wan0.lease) for 100.64.0.54 from dnsmasq 2.90 sending option 158 = 100.64.0.5.</summary>
    private static readonly byte[] s_dhcpcdLease = Convert.FromHexString(
        "02010600c051484500000000000000006440003664400001000000002ec92dbfa382" + new string('0', 404) +
        "63825363350105360464400001330400000e103a04000007083b0400000c4e0104ffffff001c04644000ff9e050464400005030464400001ff00000000000000");

    [Fact]
    public void DhcpcdLease_Option158_IsRead_OnlyForTheWanAddress()
    {
        Assert.True(DhcpPcpServers.IsDhcpV4Message(s_dhcpcdLease));
        Assert.Equal([IPAddress.Parse("100.64.0.5")], DhcpPcpServers.FromDhcpV4Message(s_dhcpcdLease, s_wan));
        Assert.Empty(DhcpPcpServers.FromDhcpV4Message(s_dhcpcdLease, IPAddress.Parse("100.64.0.2"))); // a stale lease names nothing
    }

    [Fact]
    public void DhcpV4_SplitOption_Joined_AndOverloadedFileFieldRead()
    {
        byte[] message = (byte[])s_dhcpcdLease.Clone();
        // Option 158 in two instances (RFC 3396): list of two addresses split after its length byte, the second part in the file field (overload 1).
        int at = 240;
        foreach (byte b in (byte[])[52, 1, 1, 158, 1, 8, 255])
        {
            message[at++] = b;
        }

        byte[] rest = [158, 8, 192, 0, 2, 9, 100, 64, 0, 6, 255];
        rest.CopyTo(message, 108);
        Assert.Equal([IPAddress.Parse("192.0.2.9"), IPAddress.Parse("100.64.0.6")], DhcpPcpServers.FromDhcpV4Message(message, s_wan));
    }

    [Theory]
    [InlineData("04 64400005", "100.64.0.5")]
    [InlineData("08 64400005 64400007 04 0a000001", "100.64.0.5 100.64.0.7 10.0.0.1")] // two servers, the first with two addresses
    [InlineData("08 64400005 00000000", "100.64.0.5")] // unspecified left out
    [InlineData("0c 7f000001 e0000001 ffffffff", "")] // loopback, multicast, broadcast: none usable
    [InlineData("05 6440000500", "")] // not a multiple of 4: void
    [InlineData("00", "")]
    [InlineData("08 64400005", "")] // runs past the end: void
    [InlineData("04 64400005 04 6440", "")] // the second list cut short voids the whole option
    public void Option158_Lists(string hex, string expected) =>
        Assert.Equal(expected, string.Join(' ', DhcpPcpServers.ParseV4Option(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal))).Select(a => a.ToString())));

    [Fact]
    public void DhcpV6_Option86_IPv4MappedAddressesOnly()
    {
        byte[] mapped = IPAddress.Parse("::ffff:100.64.0.5").GetAddressBytes();
        byte[] v6 = IPAddress.Parse("2001:db8::5").GetAddressBytes();
        byte[] message = [7, 1, 2, 3, 0, 2, 0, 2, 0xaa, 0xbb, 0, 86, 0, 32, .. v6, .. mapped];
        Assert.Equal([IPAddress.Parse("100.64.0.5")], DhcpPcpServers.FromDhcpV6Message(message));
        Assert.Empty(DhcpPcpServers.FromDhcpV6Message(message[..^1])); // the option runs past the end
        Assert.Empty(DhcpPcpServers.FromDhcpV6Message([1, .. message[1..]])); // a SOLICIT is no answer
        Assert.Empty(DhcpPcpServers.ParseV6Option(mapped[..15]));
    }

    [Fact]
    public void Dhclient_LastLeaseOfTheWanForItsAddress_UnknownOrNamedOption()
    {
        const string leases = """
            lease {
              interface "wan0";
              fixed-address 100.64.0.54;
              option unknown-158 4:64:40:0:9;
              option routers 100.64.0.1;
            }
            lease {
              interface "eth1";
              fixed-address 100.64.0.54;
              option unknown-158 4:64:40:0:7;
            }
            lease {
              interface "wan0";
              fixed-address 100.64.0.54;
              option host-name "a;b";
              option pcp-server 4:64:40:0:5;
              option dhcp-lease-time 3600;
            }
            lease6 {
              interface "wan0";
              ia-na 1a:2b:3c:4d {
                starts 1700000000;
                iaaddr 2001:db8::54 {
                  max-life 7200;
                }
              }
              option dhcp6.unknown-86 0:0:0:0:0:0:0:0:0:0:ff:ff:64:40:0:6;
            }
            """;
        Assert.Equal([IPAddress.Parse("100.64.0.5")], DhcpPcpServers.FromDhclientLeases(leases, "wan0", s_wan));
        Assert.Equal([IPAddress.Parse("100.64.0.7")], DhcpPcpServers.FromDhclientLeases(leases, "eth1", s_wan));
        Assert.Equal([IPAddress.Parse("100.64.0.6")], DhcpPcpServers.FromDhclientLeases(leases[leases.IndexOf("lease6", StringComparison.Ordinal)..], "wan0", s_wan));
        Assert.Equal([IPAddress.Parse("100.64.0.6")], DhcpPcpServers.FromDhclientLeases(leases, "wan0", IPAddress.Parse("100.64.0.2"))); // v4 lease not for the WAN address: the v6 one counts

        // The newest lease without the option names nothing, even if an older one did.
        string v4Only = leases[..leases.IndexOf("lease6", StringComparison.Ordinal)];
        string renewed = v4Only + "\nlease {\n  interface \"wan0\";\n  fixed-address 100.64.0.54;\n}\n";
        Assert.Empty(DhcpPcpServers.FromDhclientLeases(renewed, "wan0", s_wan));
        // A block cut short (the file being written) is not read.
        Assert.Equal([IPAddress.Parse("100.64.0.5")], DhcpPcpServers.FromDhclientLeases(renewed[..^4], "wan0", s_wan));
    }

    [Theory]
    [InlineData("4:64:40:0:5", "0464400005")]
    [InlineData("\"\\004d@\\000\\005\"", "0464400005")]
    [InlineData("\" abc\\\"\"", "2061626322")]
    [InlineData("4:64:40:0:", null)]
    [InlineData("4:164:40", null)]
    [InlineData("\"\\\"", null)]
    public void DhclientValues(string value, string? hex) =>
        Assert.Equal(hex, DhcpPcpServers.DhclientValue(value) is { } bytes ? Convert.ToHexString(bytes) : null);

    [Fact]
    public void DhclientConfiguration_NamesTheOption()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        string config = Path.Combine(dir.Path, "dhclient.conf");
        File.WriteAllText(config, "option rfc7291-pcp code 158 = string;\nalso request rfc7291-pcp;\noption dhcp6.pcp6 code 86 = array of ip6-address;\n");
        Assert.Equal(("rfc7291-pcp", "dhcp6.pcp6"), DhcpPcpServers.DhclientNames(config));
        Assert.Equal(("pcp-server", "dhcp6.pcp-server"), DhcpPcpServers.DhclientNames(Path.Combine(dir.Path, "missing")));

        string leases = Path.Combine(dir.Path, "dhclient.wan0.leases");
        File.WriteAllText(leases, "lease {\n  interface \"wan0\";\n  fixed-address 100.64.0.54;\n  option rfc7291-pcp 4:64:40:0:5;\n}\n");
        Assert.Equal((IPAddress.Parse("100.64.0.5"), 1, leases), DhcpPcpServers.Read([leases], "wan0", s_wan, config) is { } found ? (found.Servers[0], found.Servers.Count, found.File) : default);
        Assert.Null(DhcpPcpServers.Read([leases], "wan0", s_wan, Path.Combine(dir.Path, "missing")));
    }

    [Fact]
    public void Read_NewestFileThatNamesAServer()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        string dhcpcd = Path.Combine(dir.Path, "wan0.lease");
        string dhclient = Path.Combine(dir.Path, "dhclient.wan0.leases");
        File.WriteAllBytes(dhcpcd, s_dhcpcdLease);
        File.WriteAllText(dhclient, "lease {\n  interface \"wan0\";\n  fixed-address 100.64.0.54;\n  option unknown-158 4:64:40:0:9;\n}\n");
        File.SetLastWriteTimeUtc(dhcpcd, DateTime.UtcNow.AddHours(-1));
        string[] files = [dhcpcd, dhclient, Path.Combine(dir.Path, "missing")];
        Assert.Equal(IPAddress.Parse("100.64.0.9"), DhcpPcpServers.Read(files, "wan0", s_wan)?.Servers[0]);
        File.SetLastWriteTimeUtc(dhclient, DateTime.UtcNow.AddHours(-2));
        Assert.Equal((IPAddress.Parse("100.64.0.5"), dhcpcd, DhcpPcpServers.V4Option), DhcpPcpServers.Read(files, "wan0", s_wan) is { } f ? (f.Servers[0], f.File, f.Option) : default);
        Assert.Null(DhcpPcpServers.Read(files, "wan0", IPAddress.Parse("100.64.0.77")));
    }

    [Fact]
    public void Setting_DhcpLeases()
    {
        var errors = new List<string>();
        GatewaySettings s = ConfigFile.Read("""{ "upstream": { "dhcpLeases": [ "/run/a.lease", "/run/b.leases" ] } }""", new GatewaySettings(), errors);
        Assert.Empty(errors);
        Assert.Equal(["/run/a.lease", "/run/b.leases"], s.UpstreamDhcpLeases);
        Assert.Null(new GatewaySettings().UpstreamDhcpLeases);
        Assert.Contains("/var/lib/dhcpcd/wan0.lease", DhcpPcpServers.DefaultLeaseFiles("wan0"));
        Assert.Contains("/var/lib/dhcp/dhclient.wan0.leases", DhcpPcpServers.DefaultLeaseFiles("wan0"));
    }
}
