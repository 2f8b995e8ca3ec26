using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

/// <summary>
/// The one stage that decides what a request may have, whatever front end it came through (UPnP, NAT-PMP, PCP,
/// the RTSP helper, the admin endpoint, an import, a restore): secure mode, lifetime limits per origin, quotas
/// per device and in total, policy rules, reserved ports, the gateway's own ports, and what the kernel will
/// accept (filters it can hold). The lease table asks it; nothing before or after it decides again.
/// Not thread-safe except <see cref="MayOpenMedia"/>: the engine's loop is its caller.
/// </summary>
public sealed class Admission
{
    /// <summary>IGD:2 leases run up to a week (WANIPConnection:2 §2.3.16), whatever the port-control ceiling.</summary>
    public const uint UpnpMaxLifetimeSeconds = 604800;

    private static readonly TimeSpan s_ownPortsMaxAge = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_ownPortsMinAge = TimeSpan.FromMilliseconds(10);

    private readonly IHostPorts _hostPorts;
    private readonly Func<IPAddress?> _externalAddress;
    private readonly TimeProvider _time;
    private readonly Lock _ownPortsLock = new();
    private volatile LeaseTableOptions _options;
    private volatile Policy _policy;
    private readonly OwnPortsSnapshot[] _ownPorts = [new(), new()]; // TCP, UDP: a TCP request reads TCP sockets only

    private readonly Func<DeviceId, IPAddress, bool> _devicePermits;
    private readonly Action<DeviceId, IPAddress>? _deviceAsked;

    public Admission(LeaseTableOptions options, Policy policy, IHostPorts? hostPorts = null, Func<IPAddress?>? externalAddress = null, TimeProvider? time = null,
        Func<DeviceId, IPAddress, bool>? devicePermits = null, Action<DeviceId, IPAddress>? deviceAsked = null)
    {
        _deviceAsked = deviceAsked;
        _options = options;
        _policy = policy;
        _devicePermits = devicePermits ?? ((_, _) => true);
        _hostPorts = hostPorts ?? NoHostPorts.Instance;
        _externalAddress = externalAddress ?? (() => null);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>New limits and policy for requests from now on (a configuration reload); leases already granted stay.</summary>
    public void Reconfigure(LeaseTableOptions options, Policy policy)
    {
        _options = options;
        _policy = policy;
    }

    /// <summary>
    /// Marks the snapshot of the gateway's own ports stale (the engine does so for each batch): the next request
    /// that needs it reads the kernel's sockets again (0.14 ms through sock_diag), unless they were read in the last
    /// 10 ms: under load batches follow each other faster than that, and the reads stay at 100 a second at most.
    /// </summary>
    public void Refresh()
    {
        lock (_ownPortsLock)
        {
            foreach (OwnPortsSnapshot snapshot in _ownPorts)
            {
                snapshot.Stale = true;
            }
        }
    }

    /// <summary>A request came from this device (whatever becomes of it): the device directory notes the sighting.</summary>
    public void NoteAsked(DeviceId device, IPAddress client) =>
        _deviceAsked?.Invoke(device.HasMac || device.Address is not null ? device : DeviceId.OfAddress(client), client);

    /// <summary>Whether this device may map ports at all (its permission: set at run time, a rule, or the default).</summary>
    public bool DevicePermits(DeviceId device, IPAddress client) => _devicePermits(device, client);

    /// <summary>Secure mode: a client maps only to itself, unless a front end has authorized a third party.</summary>
    public bool MayAskFor(in MappingCommand command) =>
        !_options.SecureMode || command.ThirdPartyAuthorized || SameAddress(command.Client, command.InternalAddress);

    /// <summary>The lifetime a grant gets: the request's, within the limit of its origin; 0 for a permanent lease.</summary>
    public uint Lifetime(in MappingCommand command) => command.Permanent ? 0
        : Math.Min(command.RequestedLifetimeSeconds, command.Origin == MappingOrigin.Upnp ? UpnpMaxLifetimeSeconds : _options.MaxLifetimeSeconds);

    /// <summary>Whether one more lease fits: per device (all its addresses) and in total.</summary>
    public MappingStatus CheckQuota(int deviceLeases, int totalLeases) =>
        deviceLeases >= _options.MaxLeasesPerDevice || totalLeases >= _options.MaxLeases ? MappingStatus.QuotaExceeded : MappingStatus.Granted;

    /// <summary>Whether policy could permit some external port for this internal endpoint.</summary>
    public bool MayMapEndpoint(IPAddress internalAddress, ushort internalPort) => _policy.MayPermit(internalAddress, internalPort);

    /// <summary>
    /// Whether a free external port may be given to this internal endpoint: not a reserved port, not a port a
    /// socket of the gateway holds on the external or a wildcard address, and permitted by policy.
    /// </summary>
    public MappingStatus CheckExternalPort(MappingProtocol protocol, ushort port, IPAddress internalAddress, ushort internalPort)
    {
        if (IsGatewayPort(protocol, port))
        {
            return MappingStatus.ConflictWithOtherMechanism;
        }

        return _policy.Permits(port, internalAddress, internalPort) ? MappingStatus.Granted : MappingStatus.NotAuthorized;
    }

    /// <summary>An IPv6 pinhole opens the host's own port: policy must permit that port to that host.</summary>
    public bool MayOpenPinhole(IPAddress internalAddress, ushort port) => _policy.Permits(port, internalAddress, port);

    /// <summary>
    /// RTSP media: whether the helper may open a UDP port of the external address to a client's same port. The
    /// same rules as a mapping's external port. Thread-safe (the helper runs on its own loop).
    /// </summary>
    public bool MayOpenMedia(IPAddress client, ushort port) =>
        CheckExternalPort(MappingProtocol.Udp, port, client, port) == MappingStatus.Granted;

    /// <summary>
    /// The filters a grant gets: null keeps a renewed lease's, empty clears them; otherwise disjoint, of the
    /// internal address's family (the kernel refuses anything else).
    /// </summary>
    public MappingStatus NormalizeFilters(in MappingCommand command, out IReadOnlyList<MappingFilter>? filters)
    {
        filters = null;
        if (command.Filters is null)
        {
            return MappingStatus.Granted;
        }

        if (!FilterSet.SameFamily(command.Filters, command.InternalAddress.AddressFamily))
        {
            return MappingStatus.NotAuthorized;
        }

        filters = command.Filters.Count == 0 ? [] : FilterSet.Normalize(command.Filters);
        return MappingStatus.Granted;
    }

    /// <summary>Reserved by configuration, or held by a socket of the gateway right now.</summary>
    public bool IsGatewayPort(MappingProtocol protocol, ushort port) =>
        _options.ReservedPorts.Contains(port) || OwnPorts((TransportProtocol)(byte)protocol).Contains((TransportProtocol)(byte)protocol, port);

    private HostPortSet OwnPorts(TransportProtocol protocol)
    {
        lock (_ownPortsLock)
        {
            OwnPortsSnapshot snapshot = _ownPorts[protocol == TransportProtocol.Tcp ? 0 : 1];
            DateTimeOffset now = _time.GetUtcNow();
            TimeSpan age = now - snapshot.Read;
            if (snapshot.Ports is null || age > s_ownPortsMaxAge || age < TimeSpan.Zero || (snapshot.Stale && age >= s_ownPortsMinAge))
            {
                snapshot.Ports = _hostPorts.Read(_externalAddress(), protocol);
                snapshot.Read = now;
                snapshot.Stale = false;
            }

            return snapshot.Ports;
        }
    }

    private sealed class OwnPortsSnapshot
    {
        public HostPortSet? Ports { get; set; }

        public DateTimeOffset Read { get; set; }

        public bool Stale { get; set; }
    }

    /// <summary>Address equality without the IPv6 scope id.</summary>
    public static bool SameAddress(IPAddress a, IPAddress b) => a.GetAddressBytes().AsSpan().SequenceEqual(b.GetAddressBytes());

    private sealed class NoHostPorts : IHostPorts
    {
        public static readonly NoHostPorts Instance = new();

        public HostPortSet Read(IPAddress? externalAddress, TransportProtocol? only = null) => HostPortSet.Empty;
    }
}
