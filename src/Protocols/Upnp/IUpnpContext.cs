using System.Net;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// What the UPnP actions may read of the gateway: the live settings, the connection, the lease table and the host.
/// Every member is a read; changes go out as <see cref="MappingCommand"/>s in an <see cref="UpnpStep"/>.
/// </summary>
public interface IUpnpContext
{
    DateTimeOffset Now { get; }

    IPAddress? ExternalAddress { get; }

    /// <summary>Seconds since the external address was taken (the connection's uptime).</summary>
    uint ConnectionUptime { get; }

    bool SecureMode { get; }

    /// <summary>IGD:1 lease duration 0 is a permanent mapping (else a week).</summary>
    bool AllowPermanent { get; }

    bool PinholesAllowed { get; }

    string DefaultConnectionService { get; }

    /// <summary>A host on one of the LANs (not the gateway, not a subnet's network or broadcast address).</summary>
    bool IsLanClient(IPAddress address);

    IMappingView? FindByExternal(MappingProtocol protocol, ushort externalPort);

    /// <summary>The IPv4 port mappings (no pinholes, no PEER mappings), ordered by protocol and external port.</summary>
    IReadOnlyList<IMappingView> PortMappings();

    /// <summary>The live pinhole with this UniqueID.</summary>
    IMappingView? FindPinhole(ushort uniqueId);

    IMappingView? FindPinholeOf(MappingProtocol protocol, IPAddress internalAddress, ushort internalPort);

    /// <summary>Packets the kernel let in through the pinhole since it was installed.</summary>
    ulong PinholePackets(IMappingView pinhole);

    /// <summary>The kernel's idle timeout for established flows of a protocol (6 or 17), in seconds.</summary>
    uint OutboundTimeout(ushort protocolNumber);

    /// <summary>The WAN link: "Up" or "Down", its speed in bit/s (0 unknown), and a counter of sysfs (tx_bytes, ...).</summary>
    string WanLinkStatus { get; }

    uint WanBitRate { get; }

    uint WanCounter(string name);
}
