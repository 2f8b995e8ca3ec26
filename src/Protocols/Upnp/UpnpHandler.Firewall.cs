using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortMapper.Protocols.Mapping;
using static PortMapper.Protocols.Upnp.SoapResult;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// WANIPv6FirewallControl:1: pinholes are IPv6 leases in the same table as every other mapping, installed in
/// the kernel's pinhole sets (with per-element packet counters). The UniqueID is the low 16 bits of the lease id
/// (the lease table never gives two live pinholes the same one).
/// </summary>
public static partial class UpnpHandler
{
    private const uint MaxPinholeLease = 86400;
    private const ushort AnyProtocol = 65535;

    private static UpnpStep Firewall(SoapCall call, IPAddress caller, IUpnpContext context)
    {
        switch (call.ActionName)
        {
            case "GetFirewallStatus":
                return UpnpStep.Reply(Ok(Out("FirewallEnabled", "1"), Out("InboundPinholeAllowed", context.PinholesAllowed ? "1" : "0")));
            case "GetOutboundPinholeTimeout":
                return UpnpStep.Reply(GetOutboundPinholeTimeout(call, caller, context));
            case "AddPinhole":
                return AddPinhole(call, caller, context);
        }

        if (!UpnpArguments.TryPort(call.Get("UniqueID"), out ushort uniqueId))
        {
            return UpnpStep.Reply(Fail(UpnpError.InvalidArgs));
        }

        IMappingView? pinhole = context.FindPinhole(uniqueId);
        if (pinhole is null)
        {
            return UpnpStep.Reply(Fail(UpnpErrorCode.NoSuchEntry, "NoSuchEntry"));
        }

        if (context.SecureMode && !SameAddress(pinhole.Client, caller))
        {
            return UpnpStep.Reply(Fail(UpnpError.NotAuthorized));
        }

        switch (call.ActionName)
        {
            case "UpdatePinhole":
                if (!UpnpArguments.TryUInt32(call.Get("NewLeaseTime"), out uint lease) || lease is 0 or > MaxPinholeLease)
                {
                    return UpnpStep.Reply(Fail(UpnpError.InvalidArgs));
                }

                return UpnpStep.Execute(PinholeCommand(pinhole, lease), (renewed, _) =>
                    renewed.Status == MappingStatus.Granted ? Ok() : Fail(UpnpErrorCode.NoSuchEntry, "NoSuchEntry"));
            case "DeletePinhole":
                return UpnpStep.Execute(PinholeCommand(pinhole, 0) with { Kind = MappingCommandKind.Delete }, (_, _) => Ok());
            case "GetPinholePackets":
                return UpnpStep.Reply(Ok(Out("PinholePackets", ((uint)Math.Min(context.PinholePackets(pinhole), uint.MaxValue)).ToString(CultureInfo.InvariantCulture))));
            case "CheckPinholeWorking":
                return UpnpStep.Reply(context.PinholePackets(pinhole) > 0 ? Ok(Out("IsWorking", "1")) : Fail(UpnpErrorCode.NoPacketSent, "NoPacketSent"));
            default:
                return UpnpStep.Reply(Fail(UpnpError.InvalidAction));
        }
    }

    private static UpnpStep AddPinhole(SoapCall call, IPAddress caller, IUpnpContext context)
    {
        if (!context.PinholesAllowed)
        {
            return UpnpStep.Reply(Fail(UpnpErrorCode.InboundPinholeNotAllowed, "InboundPinholeNotAllowed"));
        }

        if (!UpnpArguments.TryRemoteHost(call.Get("RemoteHost"), AddressFamily.InterNetworkV6, out IPAddress? remoteHost)
            || !UpnpArguments.TryPort(call.Get("RemotePort"), out ushort remotePort)
            || !UpnpArguments.TryPort(call.Get("InternalPort"), out ushort internalPort)
            || !TryProtocolNumber(call.Get("Protocol"), out ushort protocolNumber)
            || !UpnpArguments.TryUInt32(call.Get("LeaseTime"), out uint leaseTime) || leaseTime is 0 or > MaxPinholeLease)
        {
            return UpnpStep.Reply(Fail(UpnpError.InvalidArgs));
        }

        if (call.Get("InternalClient") is "" or "*")
        {
            return UpnpStep.Reply(Fail(UpnpErrorCode.PinholeWildCardNotPermittedInSrcIP, "WildCardNotPermittedInSrcIP"));
        }

        if (internalPort == 0)
        {
            return UpnpStep.Reply(Fail(UpnpErrorCode.InternalPortWildcardingNotAllowed, "InternalPortWildcardingNotAllowed"));
        }

        if (ProtocolOf(protocolNumber) is not { } protocol)
        {
            return UpnpStep.Reply(protocolNumber == AnyProtocol
                ? Fail(UpnpErrorCode.ProtocolWildcardingNotAllowed, "ProtocolWildcardingNotAllowed")
                : Fail(UpnpErrorCode.ProtocolNotSupported, "ProtocolNotSupported"));
        }

        if (CheckInternalClient(call.Get("InternalClient"), AddressFamily.InterNetworkV6, context, out IPAddress? client) is { } refused)
        {
            return UpnpStep.Reply(Fail(refused));
        }

        IReadOnlyList<MappingFilter> filters = remoteHost is null && remotePort == 0
            ? []
            : [new MappingFilter(remoteHost is null ? new IPNetwork(IPAddress.IPv6Any, 0) : new IPNetwork(remoteHost, 128), remotePort)];
        var command = new MappingCommand(
            MappingCommandKind.Map, protocol, MappingOrigin.Upnp, caller, client!, internalPort, 0, leaseTime, "UPnP pinhole", Filters: filters);
        return UpnpStep.Execute(command, (outcome, now) =>
        {
            if (outcome.Status != MappingStatus.Granted)
            {
                return outcome.Status switch
                {
                    MappingStatus.QuotaExceeded or MappingStatus.NoResources => Fail(UpnpErrorCode.PinholeSpaceExhausted, "PinholeSpaceExhausted"),
                    MappingStatus.KernelRefused or MappingStatus.UpstreamFailed => Fail(UpnpError.ActionFailed),
                    _ => Fail(UpnpError.NotAuthorized),
                };
            }

            IMappingView? lease = now.FindPinholeOf(protocol, client!, internalPort);
            return lease is null
                ? Fail(UpnpError.ActionFailed)
                : Ok(Out("UniqueID", UniqueIdOf(lease).ToString(CultureInfo.InvariantCulture)));
        });
    }

    /// <summary>How long the kernel keeps an idle outbound flow: the conntrack timeouts of the running kernel.</summary>
    private static SoapResult GetOutboundPinholeTimeout(SoapCall call, IPAddress caller, IUpnpContext context)
    {
        if (!UpnpArguments.TryRemoteHost(call.Get("RemoteHost"), AddressFamily.InterNetworkV6, out _)
            || !UpnpArguments.TryPort(call.Get("RemotePort"), out _)
            || !UpnpArguments.TryPort(call.Get("InternalPort"), out _)
            || !TryProtocolNumber(call.Get("Protocol"), out ushort protocolNumber))
        {
            return Fail(UpnpError.InvalidArgs);
        }

        if (call.Get("InternalClient") is { Length: > 0 } internalClient && internalClient != "*"
            && CheckInternalClient(internalClient, AddressFamily.InterNetworkV6, context, out _) is { } refused)
        {
            return Fail(refused);
        }

        // A read, so no admission: in secure mode a host asks only about its own flows.
        if (context.SecureMode && call.Get("InternalClient") is { Length: > 0 } named && named != "*"
            && IPAddress.TryParse(named, out IPAddress? other) && !SameAddress(other, caller))
        {
            return Fail(UpnpError.NotAuthorized);
        }

        uint? timeout = protocolNumber switch
        {
            6 or 17 => context.OutboundTimeout(protocolNumber),
            AnyProtocol => Math.Min(context.OutboundTimeout(6), context.OutboundTimeout(17)),
            _ => null,
        };
        return timeout is { } seconds
            ? Ok(Out("OutboundPinholeTimeout", seconds.ToString(CultureInfo.InvariantCulture)))
            : Fail(UpnpErrorCode.ProtocolNotSupported, "ProtocolNotSupported");
    }

    /// <summary>
    /// The IANA protocol number the service defines (ui2), or, leniently, "TCP"/"UDP": upnpc sends the name
    /// for GetOutboundPinholeTimeout.
    /// </summary>
    private static bool TryProtocolNumber(string? text, out ushort number)
    {
        if (UpnpArguments.TryProtocol(text, out MappingProtocol named))
        {
            number = (ushort)named;
            return true;
        }

        return UpnpArguments.TryPort(text, out number);
    }

    private static MappingProtocol? ProtocolOf(ushort number) => number switch
    {
        6 => MappingProtocol.Tcp,
        17 => MappingProtocol.Udp,
        _ => null,
    };

    public static ushort UniqueIdOf(IMappingView lease) => (ushort)(lease.Id & 0xFFFF);

    private static MappingCommand PinholeCommand(IMappingView pinhole, uint lifetime) => new(
        MappingCommandKind.Map, pinhole.Protocol, pinhole.Origin, pinhole.Client, pinhole.InternalAddress, pinhole.InternalPort, 0, lifetime, pinhole.Description);
}
