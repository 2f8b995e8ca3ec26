using PortMapper.Gateway.Leases;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Configuration;

/// <summary>
/// Settings as written: embedded defaults, overridden by the JSON file, overridden by command-line flags.
/// Interfaces are names here; <see cref="GatewayConfiguration"/> resolves them against the machine.
/// </summary>
public sealed record GatewaySettings
{
    public string? Wan { get; init; }

    public IReadOnlyList<string> Lan { get; init; } = [];

    public string StateDirectory { get; init; } = "/var/lib/portmapper";

    public string LogLevel { get; init; } = "information";

    public FirewallMode FirewallMode { get; init; } = FirewallMode.Standalone;

    public string TableName { get; init; } = "portmapper";

    /// <summary>Integrate mode: the packet mark bit on packets that mappings and pinholes admit.</summary>
    public uint FirewallMark { get; init; } = NftablesMark.Default;

    /// <summary>NAT loopback: a LAN host connecting to the external address and a mapped port reaches the mapped host.</summary>
    public bool Hairpin { get; init; } = true;

    /// <summary>Outbound traffic from a mapping's internal address and port leaves with the mapping's external port.</summary>
    public bool PreservePorts { get; init; } = true;

    /// <summary>End the conntrack flows of a mapping when its lease is deleted or runs out.</summary>
    public bool EndFlows { get; init; } = true;

    /// <summary>The kernel's SIP helper (rewriting Via, Contact and SDP, and expecting the media) on these ports.</summary>
    public bool SipHelper { get; init; } = true;

    /// <summary>The SIP helper for SIP over TCP too (off: NAT slipstreaming rode on browser-made TCP connections to 5060).</summary>
    public bool SipTcp { get; init; }

    public IReadOnlyList<ushort> SipPorts { get; init; } = [5060];

    /// <summary>Let RTSP media over UDP in for LAN clients: the kernel's helper where it has one, the daemon's own otherwise.</summary>
    public bool RtspHelper { get; init; } = true;

    /// <summary>The RTSP servers' control ports.</summary>
    public IReadOnlyList<ushort> RtspPorts { get; init; } = [554];

    /// <summary>The NFLOG group the daemon's own RTSP helper reads the control connections from.</summary>
    public ushort RtspLogGroup { get; init; } = FirewallOptions.DefaultRtspLogGroup;

    public bool PcpEnabled { get; init; } = true;

    /// <summary>PCP THIRD_PARTY: off by default; when on, LAN hosts may map for other LAN hosts.</summary>
    public bool PcpAllowThirdParty { get; init; }

    /// <summary>The most PCP FILTER options one mapping may carry.</summary>
    public int PcpMaxFilters { get; init; } = 16;

    public bool NatPmpEnabled { get; init; } = true;

    /// <summary>The admin endpoint, "ADDR:PORT" on loopback or a LAN address; null or empty turns it off.</summary>
    public string? AdminListen { get; init; } = "127.0.0.1:8470";

    /// <summary>Advertise the admin page with mDNS (_http._tcp) when the admin endpoint listens on a LAN address.</summary>
    public bool AdminMdns { get; init; } = true;

    public bool UpnpEnabled { get; init; } = true;

    /// <summary>The HTTP port of descriptions, control and eventing, on LAN addresses only.</summary>
    public int UpnpHttpPort { get; init; } = 5000;

    /// <summary>Seconds between ssdp:alive rounds; CACHE-CONTROL max-age is three times this.</summary>
    public int UpnpNotifyIntervalSeconds { get; init; } = 600;

    public string UpnpFriendlyName { get; init; } = "PortMapper";

    /// <summary>WANIPv6FirewallControl: whether LAN hosts may open inbound IPv6 pinholes.</summary>
    public bool UpnpPinholes { get; init; } = true;

    /// <summary>IGD:1 lease duration 0 is a permanent mapping; false makes it the longest lease instead.</summary>
    public bool UpnpAllowPermanent { get; init; } = true;

    public int UpnpMaxSubscriptions { get; init; } = 256;

    public int UpnpMaxSubscriptionsPerHost { get; init; } = 16;

    public int UpnpMaxConnectionsPerHost { get; init; } = 16;

    public bool SecureMode { get; init; } = true;

    public uint MaxLifetimeSeconds { get; init; } = 86400;

    /// <summary>Leases one device may hold, over its IPv4 address and all its IPv6 addresses.</summary>
    public int MaxLeasesPerClient { get; init; } = 128;

    /// <summary>Leases the whole table may hold, whoever asks.</summary>
    public int MaxLeases { get; init; } = 8192;

    public double RateLimitPerSecond { get; init; } = 50;

    public int RateLimitBurst { get; init; } = 100;

    public bool Fsync { get; init; } = true;

    public IReadOnlyList<PortRange> ReservedPorts { get; init; } = [];

    /// <summary>Null: the default policy (each LAN subnet may map 1024-65535 to 1024-65535).</summary>
    public IReadOnlyList<PolicyRule>? Rules { get; init; }

    /// <summary>Whether a device no rule or set permission names may map ports (devices.default).</summary>
    public bool DevicesDefaultAllow { get; init; } = true;

    /// <summary>Per-device permissions by MAC, address or prefix (devices.rules); the first match decides.</summary>
    public IReadOnlyList<Devices.DeviceRule> DeviceRules { get; init; } = [];

    /// <summary>Open NAT devices from the configuration (openNat.devices): MACs, and IPv4 addresses.</summary>
    public IReadOnlyList<string> OpenNatDevices { get; init; } = [];

    /// <summary>How long an Open NAT endpoint mapping outlives its device's last packet from it (openNat.idleTimeout).</summary>
    public int OpenNatIdleSeconds { get; init; } = KernelBackend.FirewallOptions.DefaultOpenNatIdleSeconds;

    /// <summary>Open NAT endpoint mappings at once, all devices together (openNat.maxMappings).</summary>
    public int OpenNatMaxMappings { get; init; } = KernelBackend.FirewallOptions.DefaultOpenNatMaxMappings;

    /// <summary>An http(s) URL each event is POSTed to as JSON (events.webhook).</summary>
    public Uri? EventsWebhook { get; init; }

    /// <summary>The DHCP server's lease file, for device names (devices.leaseFile): dnsmasq, odhcpd or ISC dhcpd.</summary>
    public string? DevicesLeaseFile { get; init; }

    /// <summary>Where mappings are carried upstream: looked for while the WAN address is not global (auto), or named.</summary>
    public Upstream.UpstreamMode UpstreamMode { get; init; } = Upstream.UpstreamMode.Auto;

    /// <summary>The upstream PCP / NAT-PMP server; null: the one the WAN's DHCP lease names, else the WAN's default gateway.</summary>
    public System.Net.IPAddress? UpstreamServer { get; init; }

    /// <summary>
    /// The WAN DHCP client's lease files read for the PCP server it was told of (DHCPv4 option 158, DHCPv6 option 86);
    /// null: where Debian's dhcpcd and dhclient keep them. Used when <see cref="UpstreamServer"/> is not set.
    /// </summary>
    public IReadOnlyList<string>? UpstreamDhcpLeases { get; init; }

    /// <summary>A mapping the upstream refuses or does not answer in time is refused locally too (else kept local, flagged).</summary>
    public bool UpstreamRequired { get; init; } = true;

    /// <summary>How long a LAN client's request waits for the upstream's answer.</summary>
    public int UpstreamTimeoutMilliseconds { get; init; } = 5000;
}
