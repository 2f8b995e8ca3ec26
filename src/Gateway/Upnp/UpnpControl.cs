using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Status;
using PortMapper.KernelBackend;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;
using static PortMapper.Gateway.Upnp.SoapResult;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// Runs the control actions of every service against the one lease table. Arguments are checked in full
/// before anything changes; changes go through the <see cref="MappingEngine"/> like every other protocol's,
/// so an answer is sent only once the lease is journaled and in the kernel.
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

    private bool SecureMode => _engine.Options.Settings.SecureMode;

    public async Task<SoapResult> ExecuteAsync(ServiceDefinition service, SoapCall call, UpnpCaller caller, CancellationToken cancellationToken)
    {
        ServiceAction? action = service.FindAction(call.ActionName);
        if (action is null)
        {
            return Fail(UpnpError.InvalidAction);
        }

        // Every in argument must be present (UDA 1.1 §3.2.1); values are checked by each action.
        if (action.Inputs.Any(a => !call.Arguments.ContainsKey(a.Name)))
        {
            return Fail(UpnpError.InvalidArgs);
        }

        SoapResult result = service.Kind switch
        {
            UpnpServiceKind.WanIPConnection1 or UpnpServiceKind.WanIPConnection2 =>
                await ConnectionAsync(service.Version, call, caller, cancellationToken).ConfigureAwait(false),
            UpnpServiceKind.WanIPv6FirewallControl1 => await FirewallAsync(call, caller, cancellationToken).ConfigureAwait(false),
            UpnpServiceKind.WanCommonInterfaceConfig1 => CommonInterface(call),
            UpnpServiceKind.Layer3Forwarding1 => Layer3Forwarding(call),
            _ => Fail(UpnpError.InvalidAction),
        };
        if (result.Error is { } error)
        {
            Log.UpnpActionRefused(_logger, caller.Address, call.ActionName, (int)error.Code, error.Description);
        }

        return result;
    }

    private Task<SoapResult> ConnectionAsync(int version, SoapCall call, UpnpCaller caller, CancellationToken cancellationToken) => call.ActionName switch
    {
        "AddPortMapping" => AddPortMappingAsync(version, any: false, call, caller, cancellationToken),
        "AddAnyPortMapping" => AddPortMappingAsync(version, any: true, call, caller, cancellationToken),
        "DeletePortMapping" => DeletePortMappingAsync(call, caller, cancellationToken),
        "DeletePortMappingRange" => DeletePortMappingRangeAsync(call, caller, cancellationToken),
        _ => Task.FromResult(call.ActionName switch
        {
            "GetGenericPortMappingEntry" => GetGenericPortMappingEntry(call),
            "GetSpecificPortMappingEntry" => GetSpecificPortMappingEntry(call),
            "GetListOfPortMappings" => GetListOfPortMappings(call, caller),
            "GetExternalIPAddress" => Ok(Out("NewExternalIPAddress", _state.Current.ExternalAddress?.ToString() ?? string.Empty)),
            "GetStatusInfo" => GetStatusInfo(),
            "GetConnectionTypeInfo" => Ok(Out("NewConnectionType", "IP_Routed"), Out("NewPossibleConnectionTypes", "IP_Routed")),
            "GetNATRSIPStatus" => Ok(Out("NewRSIPAvailable", "0"), Out("NewNATEnabled", "1")),
            "SetConnectionType" => SetConnectionType(call),
            "RequestConnection" => Connected
                ? Ok()
                : Fail(UpnpErrorCode.ConnectionSetupFailed, "ConnectionSetupFailed"),
            "ForceTermination" => Connected
                ? Fail(UpnpError.NotAuthorized) // a LAN host does not take the WAN link down
                : Fail(UpnpErrorCode.ConnectionAlreadyTerminated, "ConnectionAlreadyTerminated"),
            _ => Fail(UpnpError.InvalidAction),
        }),
    };

    private bool Connected => _state.Current.ExternalAddress is not null;

    private SoapResult GetStatusInfo()
    {
        GatewayStatus status = _state.Current;
        uint uptime = status.ExternalAddress is null ? 0 : GatewayState.EpochSeconds(status, _time.GetUtcNow());
        return Ok(
            Out("NewConnectionStatus", status.ExternalAddress is null ? "Disconnected" : "Connected"),
            Out("NewLastConnectionError", "ERROR_NONE"),
            Out("NewUptime", uptime.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>The connection is routed and stays so; other types need the connection down, which a LAN host cannot ask for.</summary>
    private static SoapResult SetConnectionType(SoapCall call) => call.Get("NewConnectionType") switch
    {
        "IP_Routed" => Ok(),
        "Unconfigured" or "IP_Bridged" => Fail(UpnpErrorCode.InactiveConnectionStateRequired, "InactiveConnectionStateRequired"),
        _ => Fail(UpnpError.InvalidArgs),
    };

    private SoapResult Layer3Forwarding(SoapCall call) => call.ActionName switch
    {
        "GetDefaultConnectionService" => Ok(Out("NewDefaultConnectionService", _devices.DefaultConnectionService)),
        "SetDefaultConnectionService" => call.Get("NewDefaultConnectionService") switch
        {
            null or "" => Fail(UpnpError.InvalidArgs),
            var chosen when chosen == _devices.DefaultConnectionService => Ok(),
            _ => Fail(UpnpErrorCode.InvalidConnServiceSelection, "InvalidConnServiceSelection"),
        },
        _ => Fail(UpnpError.InvalidAction),
    };

    /// <summary>
    /// An internal client a mapping may point to: an IPv4 literal of a host on one of the LANs, not the gateway
    /// itself and not a subnet's network or broadcast address; for a pinhole, a global IPv6 address (a
    /// link-local one cannot be reached from the WAN). In secure mode only the caller itself.
    /// </summary>
    private UpnpError? CheckInternalClient(string? text, UpnpCaller caller, AddressFamily family, out IPAddress? client)
    {
        if (!UpnpArguments.TryAddress(text, family, out client) || client is null
            || IPAddress.IsLoopback(client) || client.Equals(IPAddress.Any) || client.Equals(IPAddress.Broadcast)
            || client.Equals(IPAddress.IPv6Any) || IsMulticast(client) || client.IsIPv6LinkLocal)
        {
            return UpnpError.InvalidArgs;
        }

        IPAddress candidate = client;
        bool isLanHost = _options.LanInterfaces.Any(l => l.IsLanHost(candidate) && !IsSubnetEdge(l, candidate));
        if (!isLanHost || (SecureMode && !SameAddress(candidate, caller.Address)))
        {
            return UpnpError.NotAuthorized;
        }

        return null;
    }

    private static bool IsMulticast(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? address.IsIPv6Multicast : (address.GetAddressBytes()[0] & 0xF0) == 0xE0;

    private static bool IsSubnetEdge(Network.LanInterface lan, IPAddress address)
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

    /// <summary>Address equality without the IPv6 scope id.</summary>
    private static bool SameAddress(IPAddress a, IPAddress b) => a.GetAddressBytes().AsSpan().SequenceEqual(b.GetAddressBytes());

    private Task<MappingOutcome> RunAsync(in MappingCommand command, CancellationToken cancellationToken) => _engine.RunAsync(command, cancellationToken);
}
