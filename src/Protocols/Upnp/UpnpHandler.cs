using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortMapper.Protocols.Mapping;
using static PortMapper.Protocols.Upnp.SoapResult;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// The control actions of every IGD service, as a pure handler like <c>NatPmpHandler</c> and <c>PcpHandler</c>: a
/// SOAP call in, an answer or mapping commands out (<see cref="UpnpStep"/>). Arguments are checked in full before
/// any command is made; what a request may have (policy, quotas, reserved and gateway-owned ports, conflicts,
/// lifetimes) is decided by the admission stage behind the lease table, not here. Reads go through
/// <see cref="IUpnpContext"/>; nothing here touches a socket, the kernel or the clock.
/// </summary>
public static partial class UpnpHandler
{
    public static UpnpStep Handle(ServiceDefinition service, SoapCall call, IPAddress caller, IUpnpContext context)
    {
        ServiceAction? action = service.FindAction(call.ActionName);
        if (action is null)
        {
            return UpnpStep.Reply(Fail(UpnpError.InvalidAction));
        }

        // Every in argument must be present (UDA 1.1 §3.2.1); values are checked by each action.
        if (action.Inputs.Any(a => !call.Arguments.ContainsKey(a.Name)))
        {
            return UpnpStep.Reply(Fail(UpnpError.InvalidArgs));
        }

        return service.Kind switch
        {
            UpnpServiceKind.WanIPConnection1 or UpnpServiceKind.WanIPConnection2 => Connection(service.Version, call, caller, context),
            UpnpServiceKind.WanIPv6FirewallControl1 => Firewall(call, caller, context),
            UpnpServiceKind.WanCommonInterfaceConfig1 => UpnpStep.Reply(CommonInterface(call, context)),
            UpnpServiceKind.Layer3Forwarding1 => UpnpStep.Reply(Layer3Forwarding(call, context)),
            _ => UpnpStep.Reply(Fail(UpnpError.InvalidAction)),
        };
    }

    private static UpnpStep Connection(int version, SoapCall call, IPAddress caller, IUpnpContext context) => call.ActionName switch
    {
        "AddPortMapping" => AddPortMapping(version, any: false, call, caller, context),
        "AddAnyPortMapping" => AddPortMapping(version, any: true, call, caller, context),
        "DeletePortMapping" => DeletePortMapping(call, caller, context),
        "DeletePortMappingRange" => DeletePortMappingRange(call, caller, context),
        _ => UpnpStep.Reply(call.ActionName switch
        {
            "GetGenericPortMappingEntry" => GetGenericPortMappingEntry(call, context),
            "GetSpecificPortMappingEntry" => GetSpecificPortMappingEntry(call, context),
            "GetListOfPortMappings" => GetListOfPortMappings(call, caller, context),
            "GetExternalIPAddress" => Ok(Out("NewExternalIPAddress", context.ExternalAddress?.ToString() ?? string.Empty)),
            "GetStatusInfo" => GetStatusInfo(context),
            "GetConnectionTypeInfo" => Ok(Out("NewConnectionType", "IP_Routed"), Out("NewPossibleConnectionTypes", "IP_Routed")),
            "GetNATRSIPStatus" => Ok(Out("NewRSIPAvailable", "0"), Out("NewNATEnabled", "1")),
            "SetConnectionType" => SetConnectionType(call),
            "RequestConnection" => context.ExternalAddress is not null
                ? Ok()
                : Fail(UpnpErrorCode.ConnectionSetupFailed, "ConnectionSetupFailed"),
            "ForceTermination" => context.ExternalAddress is not null
                ? Fail(UpnpError.NotAuthorized) // a LAN host does not take the WAN link down
                : Fail(UpnpErrorCode.ConnectionAlreadyTerminated, "ConnectionAlreadyTerminated"),
            _ => Fail(UpnpError.InvalidAction),
        }),
    };

    private static SoapResult GetStatusInfo(IUpnpContext context)
    {
        bool connected = context.ExternalAddress is not null;
        return Ok(
            Out("NewConnectionStatus", connected ? "Connected" : "Disconnected"),
            Out("NewLastConnectionError", "ERROR_NONE"),
            Out("NewUptime", (connected ? context.ConnectionUptime : 0).ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>The connection is routed and stays so; other types need the connection down, which a LAN host cannot ask for.</summary>
    private static SoapResult SetConnectionType(SoapCall call) => call.Get("NewConnectionType") switch
    {
        "IP_Routed" => Ok(),
        "Unconfigured" or "IP_Bridged" => Fail(UpnpErrorCode.InactiveConnectionStateRequired, "InactiveConnectionStateRequired"),
        _ => Fail(UpnpError.InvalidArgs),
    };

    private static SoapResult Layer3Forwarding(SoapCall call, IUpnpContext context) => call.ActionName switch
    {
        "GetDefaultConnectionService" => Ok(Out("NewDefaultConnectionService", context.DefaultConnectionService)),
        "SetDefaultConnectionService" => call.Get("NewDefaultConnectionService") switch
        {
            null or "" => Fail(UpnpError.InvalidArgs),
            var chosen when chosen == context.DefaultConnectionService => Ok(),
            _ => Fail(UpnpErrorCode.InvalidConnServiceSelection, "InvalidConnServiceSelection"),
        },
        _ => Fail(UpnpError.InvalidAction),
    };

    /// <summary>WANCommonInterfaceConfig:1: the WAN interface's real link state and counters.</summary>
    private static SoapResult CommonInterface(SoapCall call, IUpnpContext context) => call.ActionName switch
    {
        "GetCommonLinkProperties" => Ok(
            Out("NewWANAccessType", "Ethernet"),
            Out("NewLayer1UpstreamMaxBitRate", context.WanBitRate.ToString(CultureInfo.InvariantCulture)),
            Out("NewLayer1DownstreamMaxBitRate", context.WanBitRate.ToString(CultureInfo.InvariantCulture)),
            Out("NewPhysicalLinkStatus", context.WanLinkStatus)),
        "GetTotalBytesSent" => Ok(Out("NewTotalBytesSent", context.WanCounter("tx_bytes").ToString(CultureInfo.InvariantCulture))),
        "GetTotalBytesReceived" => Ok(Out("NewTotalBytesReceived", context.WanCounter("rx_bytes").ToString(CultureInfo.InvariantCulture))),
        "GetTotalPacketsSent" => Ok(Out("NewTotalPacketsSent", context.WanCounter("tx_packets").ToString(CultureInfo.InvariantCulture))),
        "GetTotalPacketsReceived" => Ok(Out("NewTotalPacketsReceived", context.WanCounter("rx_packets").ToString(CultureInfo.InvariantCulture))),
        _ => Fail(UpnpError.InvalidAction),
    };

    /// <summary>
    /// An internal client a mapping may point to: an IPv4 literal of a host on one of the LANs, not the gateway
    /// itself and not a subnet's network or broadcast address; for a pinhole, a global IPv6 address (a
    /// link-local one cannot be reached from the WAN). Whether the caller may map to it (secure mode) is the
    /// admission stage's to decide, like everything else a grant depends on.
    /// </summary>
    private static UpnpError? CheckInternalClient(string? text, AddressFamily family, IUpnpContext context, out IPAddress? client)
    {
        if (!UpnpArguments.TryAddress(text, family, out client) || client is null
            || IPAddress.IsLoopback(client) || client.Equals(IPAddress.Any) || client.Equals(IPAddress.Broadcast)
            || client.Equals(IPAddress.IPv6Any) || IsMulticast(client) || client.IsIPv6LinkLocal)
        {
            return UpnpError.InvalidArgs;
        }

        if (!context.IsLanClient(client))
        {
            return UpnpError.NotAuthorized;
        }

        return null;
    }

    private static bool IsMulticast(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? address.IsIPv6Multicast : (address.GetAddressBytes()[0] & 0xF0) == 0xE0;

    /// <summary>Address equality without the IPv6 scope id.</summary>
    private static bool SameAddress(IPAddress a, IPAddress b) => a.GetAddressBytes().AsSpan().SequenceEqual(b.GetAddressBytes());
}
