using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Status;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// The transport side of UPnP control: hands each SOAP call to the pure <see cref="UpnpHandler"/>, runs the
/// mapping commands it returns through the <see cref="MappingEngine"/> (so an answer is sent only once the lease
/// is journaled and in the kernel, and admission has decided), and gives the handler its reads (<see cref="IUpnpContext"/>).
/// </summary>
public sealed partial class UpnpControl
{
    private readonly GatewayOptions _options;
    private readonly MappingEngine _engine;
    private readonly GatewayState _state;
    private readonly IFirewallBackend _kernel;
    private readonly UpnpDevices _devices;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public UpnpControl(
        GatewayOptions options,
        MappingEngine engine,
        GatewayState state,
        IFirewallBackend kernel,
        UpnpDevices devices,
        TimeProvider time,
        ILogger<UpnpControl> logger)
    {
        _options = options;
        _engine = engine;
        _state = state;
        _kernel = kernel;
        _devices = devices;
        _time = time;
        _logger = logger;
    }

    public async Task<SoapResult> ExecuteAsync(ServiceDefinition service, SoapCall call, UpnpCaller caller, CancellationToken cancellationToken)
    {
        var context = new Context(this);
        UpnpStep step = UpnpHandler.Handle(service, call, caller.Address, context);
        SoapResult result;
        if (step.Answer is { } answer)
        {
            result = answer;
        }
        else
        {
            // The caller's device is charged for what it maps; several commands (a range delete) run together.
            MappingOutcome[] outcomes = await Task.WhenAll(step.Commands.Select(c => _engine.RunAsync(c, caller.Owner, cancellationToken))).ConfigureAwait(false);
            result = step.Complete(outcomes, context);
        }

        if (result.Error is { } error)
        {
            Log.UpnpActionRefused(_logger, caller.Address, call.ActionName, (int)error.Code, error.Description);
        }

        return result;
    }

    private static bool IsSubnetEdge(LanInterface lan, IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }

        foreach (var a in lan.IPv4)
        {
            if (a.Subnet.PrefixLength < 31 && a.Subnet.Contains(address))
            {
                uint value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
                uint hostMask = uint.MaxValue >> a.Subnet.PrefixLength;
                if ((value & hostMask) == 0 || (value & hostMask) == hostMask)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The handler's reads for one call: the live options, the status, the lease table, the kernel's counters and sysfs.</summary>
    private sealed class Context(UpnpControl control) : IUpnpContext
    {
        private readonly GatewayOptions _live = control._engine.Options;

        public DateTimeOffset Now => control._time.GetUtcNow();

        public IPAddress? ExternalAddress => control._state.Current.AdvertisedAddress;

        public uint ConnectionUptime => GatewayState.EpochSeconds(control._state.Current, Now);

        public bool SecureMode => _live.Settings.SecureMode;

        public bool AllowPermanent => _live.Settings.UpnpAllowPermanent;

        public bool PinholesAllowed => _live.Settings.UpnpPinholes;

        public string DefaultConnectionService => control._devices.DefaultConnectionService;

        public string WanLinkStatus => WanLink.Status(control._options.WanInterface);

        public uint WanBitRate => WanLink.BitRate(control._options.WanInterface);

        public uint WanCounter(string name) => WanLink.Counter(control._options.WanInterface, name);

        public uint OutboundTimeout(ushort protocolNumber) => WanLink.OutboundTimeout(protocolNumber);

        public bool IsLanClient(IPAddress address) => control._options.LanInterfaces.Any(l => l.IsLanHost(address) && !IsSubnetEdge(l, address));

        public IMappingView? FindByExternal(MappingProtocol protocol, ushort externalPort) => control._engine.FindByExternal(protocol, externalPort);

        public IReadOnlyList<IMappingView> PortMappings() => control._engine.PortMappings();

        public IMappingView? FindPinhole(ushort uniqueId) => control._engine.FindPinhole(uniqueId);

        public IMappingView? FindPinholeOf(MappingProtocol protocol, IPAddress internalAddress, ushort internalPort) =>
            control._engine.FindPinholeOf(protocol, internalAddress, internalPort);

        public ulong PinholePackets(IMappingView pinhole) =>
            pinhole is Leases.Lease lease ? control._kernel.PacketCount(KernelSync.ToMapping(lease, Now)) ?? 0 : 0;
    }
}
