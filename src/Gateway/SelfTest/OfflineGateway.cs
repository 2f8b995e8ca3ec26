using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.SelfTest;

/// <summary>
/// The gateway's request path without sockets or a kernel: a real lease table (secure mode, quotas, the default
/// LAN policy) for the LAN 192.168.77.0/24 and fd00:77::/64 behind the external address 203.0.113.1, and the UPnP
/// actions' view of it. Used by <c>portmapper selftest</c> and by the fuzz targets.
/// </summary>
internal sealed class OfflineGateway
{
    public static readonly IPAddress External = IPAddress.Parse("203.0.113.1");
    public static readonly IPAddress GatewayLan = IPAddress.Parse("192.168.77.1");
    public static readonly IPAddress GatewayLan6 = IPAddress.Parse("fd00:77::1");
    public static readonly IPNetwork Lan4 = IPNetwork.Parse("192.168.77.0/24");
    public static readonly IPNetwork Lan6 = IPNetwork.Parse("fd00:77::/64");
    public static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    public const uint Epoch = 1234;

    public OfflineGateway(int maxLeasesPerDevice = 16)
    {
        Table = new LeaseTable(new LeaseTableOptions(86400, maxLeasesPerDevice, true, new HashSet<ushort> { 22, 80 }, 64), Policy.ForLanSubnets([Lan4, Lan6]));
        Upnp = new UpnpView(this);
    }

    public LeaseTable Table { get; }

    public IUpnpContext Upnp { get; }

    public MappingOutcome Execute(in MappingCommand command, IPAddress client) =>
        Table.Execute(command, DeviceId.OfAddress(client), Now, []);

    public static bool IsLanHost(IPAddress address) =>
        (Lan4.Contains(address) || Lan6.Contains(address)) && !address.Equals(GatewayLan) && !address.Equals(GatewayLan6);

    /// <summary>The gateway as the UPnP actions see it, over the offline lease table.</summary>
    private sealed class UpnpView(OfflineGateway gateway) : IUpnpContext
    {
        public DateTimeOffset Now => OfflineGateway.Now;

        public IPAddress? ExternalAddress => External;

        public uint ConnectionUptime => 42;

        public bool SecureMode => true;

        public bool AllowPermanent => false;

        public bool PinholesAllowed => true;

        public string DefaultConnectionService => "uuid:8d4fc59a-7c3e-4b7a-9d0c-4f6b3e1f2a13:WANConnectionDevice:1,urn:upnp-org:serviceId:WANIPConn1";

        public string WanLinkStatus => "Up";

        public uint WanBitRate => 1_000_000_000;

        public bool IsLanClient(IPAddress address) => IsLanHost(address);

        public IMappingView? FindByExternal(MappingProtocol protocol, ushort externalPort) => gateway.Table.FindByExternal(protocol, externalPort);

        public IReadOnlyList<IMappingView> PortMappings() => [.. gateway.Table.Leases.Where(l => !l.IsPinhole).OrderBy(l => l.Id)];

        public IMappingView? FindPinhole(ushort uniqueId) => gateway.Table.FindPinhole(uniqueId, Now);

        public IMappingView? FindPinholeOf(MappingProtocol protocol, IPAddress internalAddress, ushort internalPort) => gateway.Table.FindPinhole(protocol, internalAddress, internalPort);

        public ulong PinholePackets(IMappingView pinhole) => 0;

        public uint OutboundTimeout(ushort protocolNumber) => protocolNumber == 6 ? 7440u : 180u;

        public uint WanCounter(string name) => 7;
    }
}
