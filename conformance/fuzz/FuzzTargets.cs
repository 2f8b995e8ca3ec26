namespace PortMapper.Fuzz;

/// <summary>Every fuzz target, by name.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("natpmp", "NAT-PMP datagram: decode, handle against a lease table holding other hosts' leases, encode", PortControlTargets.NatPmp),
        new("pcp", "PCP datagram from an IPv4 and an IPv6 client: decode, options, handle, lease table, encode", PortControlTargets.Pcp),
        new("upstream", "answers and announcements of an upstream PCP / NAT-PMP server (double NAT), read as the gateway's client does", PortControlTargets.Upstream),
        new("dhcp", "PCP servers from the WAN's DHCP (RFC 7291 options 158 / 86): dhcpcd's DHCPv4 and DHCPv6 leases, dhclient's lease text", PortControlTargets.Dhcp),
        new("ssdp", "SSDP M-SEARCH datagram: decode, match against IGD:1 and IGD:2, answers", UpnpTargets.Ssdp),
        new("soap", "SOAP body: XML reader, every IGD action against a lease table, response or fault XML", UpnpTargets.Soap),
        new("http", "UPnP HTTP headers: Host (rebinding check), SOAPACTION, Content-Type", UpnpTargets.HttpHeaders),
        new("gena", "GENA SUBSCRIBE headers: CALLBACK (CallStranger check), TIMEOUT, then the NOTIFY built from them", UpnpTargets.Gena),
        new("rtsp", "RTSP bytes: message reader, Transport and Session headers, and the helper's tracker over TCP segments", MediaTargets.Rtsp),
        new("nflog", "NFLOG netlink datagram and the IPv4/IPv6 TCP packets in it", MediaTargets.Nflog),
        new("mdns", "mDNS query: decode, answer from the gateway's advertisement, encode", MediaTargets.Mdns),
        new("netlink", "kernel answers: conntrack dump, neighbour, address dump, socket diag, nftables monitor events", StateTargets.Netlink),
        new("journal", "lease journal: framed and raw records, read as at start, restored into a lease table", StateTargets.Journal),
        new("config", "config file: JSON settings with every section", StateTargets.Config),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
