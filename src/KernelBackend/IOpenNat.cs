using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>An endpoint-independent UDP mapping the packet path made for an Open NAT device: external port → internal endpoint.</summary>
public sealed record OpenNatMapping(ushort ExternalPort, IPAddress InternalAddress, ushort InternalPort, TimeSpan ExpiresIn);

/// <summary>What came in from the WAN through a forward entry (an internal endpoint that mappings open) since it was installed.</summary>
public interface ITrafficCounters
{
    /// <summary>Packets and bytes per internal endpoint (address, protocol, port) of the unfiltered IPv4 mappings.</summary>
    IReadOnlyDictionary<(IPAddress Address, TransportProtocol Protocol, ushort Port), (ulong Packets, ulong Bytes)> ForwardTraffic();
}

/// <summary>
/// Open NAT (RFC 4787 endpoint-independent mapping and filtering for UDP) for chosen devices. The kernel does the
/// work: the daemon only says which devices (by MAC, or by IPv4 address) and reads what the packet path made.
/// </summary>
public interface IOpenNat
{
    /// <summary>
    /// The Open NAT devices from now on. A device that is no longer one loses its endpoint mappings at once; the
    /// others keep theirs.
    /// </summary>
    void SetOpenNatDevices(IReadOnlyCollection<ulong> macs, IReadOnlyCollection<IPAddress> addresses);

    /// <summary>The endpoint mappings the kernel holds now.</summary>
    IReadOnlyList<OpenNatMapping> OpenNatMappings();

    /// <summary>The addresses Open NAT applies to now, each with the MAC the packet path learned it from (0: configured by address).</summary>
    IReadOnlyList<(IPAddress Address, ulong Mac)> OpenNatHosts();
}
