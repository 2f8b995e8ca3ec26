using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;
using static PortMapper.Gateway.Upnp.SoapResult;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// WANIPv6FirewallControl:1: pinholes are IPv6 leases in the same table as every other mapping, installed in
/// the kernel's pinhole sets (with per-element packet counters). The UniqueID is the low 16 bits of the lease id.
/// </summary>
public sealed partial class UpnpControl
{
    private const uint MaxPinholeLease = 86400;
    private const ushort AnyProtocol = 65535;

    private async Task<SoapResult> FirewallAsync(SoapCall call, UpnpCaller caller, CancellationToken cancellationToken)
    {
        switch (call.ActionName)
        {
            case "GetFirewallStatus":
                return Ok(Out("FirewallEnabled", "1"), Out("InboundPinholeAllowed", _engine.Options.Settings.UpnpPinholes ? "1" : "0"));
            case "GetOutboundPinholeTimeout":
                return GetOutboundPinholeTimeout(call, caller);
            case "AddPinhole":
                return await AddPinholeAsync(call, caller, cancellationToken).ConfigureAwait(false);
        }

        if (!UpnpArguments.TryPort(call.Get("UniqueID"), out ushort uniqueId))
        {
            return Fail(UpnpError.InvalidArgs);
        }

        Lease? pinhole = _engine.FindPinhole(uniqueId);
        if (pinhole is null)
        {
            return Fail(UpnpErrorCode.NoSuchEntry, "NoSuchEntry");
        }

        if (SecureMode && !SameAddress(pinhole.Client, caller.Address))
        {
            return Fail(UpnpError.NotAuthorized);
        }

        switch (call.ActionName)
        {
            case "UpdatePinhole":
                if (!UpnpArguments.TryUInt32(call.Get("NewLeaseTime"), out uint lease) || lease is 0 or > MaxPinholeLease)
                {
                    return Fail(UpnpError.InvalidArgs);
                }

                MappingOutcome renewed = await RunAsync(PinholeCommand(pinhole, lease), cancellationToken).ConfigureAwait(false);
                return renewed.Status == MappingStatus.Granted ? Ok() : Fail(UpnpErrorCode.NoSuchEntry, "NoSuchEntry");
            case "DeletePinhole":
                await RunAsync(PinholeCommand(pinhole, 0) with { Kind = MappingCommandKind.Delete }, cancellationToken).ConfigureAwait(false);
                return Ok();
            case "GetPinholePackets":
                return Ok(Out("PinholePackets", ((uint)Math.Min(Packets(pinhole), uint.MaxValue)).ToString(CultureInfo.InvariantCulture)));
            case "CheckPinholeWorking":
                return Packets(pinhole) > 0 ? Ok(Out("IsWorking", "1")) : Fail(UpnpErrorCode.NoPacketSent, "NoPacketSent");
            default:
                return Fail(UpnpError.InvalidAction);
        }
    }

    private async Task<SoapResult> AddPinholeAsync(SoapCall call, UpnpCaller caller, CancellationToken cancellationToken)
    {
        if (!_engine.Options.Settings.UpnpPinholes)
        {
            return Fail(UpnpErrorCode.InboundPinholeNotAllowed, "InboundPinholeNotAllowed");
        }

        if (!UpnpArguments.TryRemoteHost(call.Get("RemoteHost"), AddressFamily.InterNetworkV6, out IPAddress? remoteHost)
            || !UpnpArguments.TryPort(call.Get("RemotePort"), out ushort remotePort)
            || !UpnpArguments.TryPort(call.Get("InternalPort"), out ushort internalPort)
            || !TryProtocolNumber(call.Get("Protocol"), out ushort protocolNumber)
            || !UpnpArguments.TryUInt32(call.Get("LeaseTime"), out uint leaseTime) || leaseTime is 0 or > MaxPinholeLease)
        {
            return Fail(UpnpError.InvalidArgs);
        }

        if (call.Get("InternalClient") is "" or "*")
        {
            return Fail(UpnpErrorCode.PinholeWildCardNotPermittedInSrcIP, "WildCardNotPermittedInSrcIP");
        }

        if (internalPort == 0)
        {
            return Fail(UpnpErrorCode.InternalPortWildcardingNotAllowed, "InternalPortWildcardingNotAllowed");
        }

        if (ProtocolOf(protocolNumber) is not { } protocol)
        {
            return protocolNumber == AnyProtocol
                ? Fail(UpnpErrorCode.ProtocolWildcardingNotAllowed, "ProtocolWildcardingNotAllowed")
                : Fail(UpnpErrorCode.ProtocolNotSupported, "ProtocolNotSupported");
        }

        if (CheckInternalClient(call.Get("InternalClient"), caller, AddressFamily.InterNetworkV6, out IPAddress? client) is { } refused)
        {
            return Fail(refused);
        }

        IReadOnlyList<MappingFilter> filters = remoteHost is null && remotePort == 0
            ? []
            : [new MappingFilter(remoteHost is null ? new IPNetwork(IPAddress.IPv6Any, 0) : new IPNetwork(remoteHost, 128), remotePort)];
        var command = new MappingCommand(
            MappingCommandKind.Map, protocol, MappingOrigin.Upnp, caller.Address, client!, internalPort, 0, leaseTime, "UPnP pinhole", Filters: filters);
        MappingOutcome outcome = await _engine.RunAsync(command, caller.Owner, cancellationToken).ConfigureAwait(false);
        if (outcome.Status != MappingStatus.Granted)
        {
            return outcome.Status switch
            {
                MappingStatus.QuotaExceeded or MappingStatus.NoResources => Fail(UpnpErrorCode.PinholeSpaceExhausted, "PinholeSpaceExhausted"),
                MappingStatus.KernelRefused => Fail(UpnpError.ActionFailed),
                _ => Fail(UpnpError.NotAuthorized),
            };
        }

        Lease? lease = _engine.FindPinholeOf(protocol, client!, internalPort);
        return lease is null
            ? Fail(UpnpError.ActionFailed)
            : Ok(Out("UniqueID", UniqueIdOf(lease).ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>How long the kernel keeps an idle outbound flow: the conntrack timeouts of the running kernel.</summary>
    private SoapResult GetOutboundPinholeTimeout(SoapCall call, UpnpCaller caller)
    {
        if (!UpnpArguments.TryRemoteHost(call.Get("RemoteHost"), AddressFamily.InterNetworkV6, out _)
            || !UpnpArguments.TryPort(call.Get("RemotePort"), out _)
            || !UpnpArguments.TryPort(call.Get("InternalPort"), out _)
            || !TryProtocolNumber(call.Get("Protocol"), out ushort protocolNumber))
        {
            return Fail(UpnpError.InvalidArgs);
        }

        if (call.Get("InternalClient") is { Length: > 0 } internalClient && internalClient != "*"
            && CheckInternalClient(internalClient, caller, AddressFamily.InterNetworkV6, out _) is { } refused)
        {
            return Fail(refused);
        }

        uint? timeout = protocolNumber switch
        {
            6 => ReadConntrackTimeout("nf_conntrack_tcp_timeout_established"),
            17 => ReadConntrackTimeout("nf_conntrack_udp_timeout_stream"),
            AnyProtocol => Math.Min(ReadConntrackTimeout("nf_conntrack_tcp_timeout_established"), ReadConntrackTimeout("nf_conntrack_udp_timeout_stream")),
            _ => null,
        };
        return timeout is { } seconds
            ? Ok(Out("OutboundPinholeTimeout", seconds.ToString(CultureInfo.InvariantCulture)))
            : Fail(UpnpErrorCode.ProtocolNotSupported, "ProtocolNotSupported");
    }

    private static uint ReadConntrackTimeout(string name)
    {
        try
        {
            return uint.Parse(File.ReadAllText($"/proc/sys/net/netfilter/{name}").Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or OverflowException)
        {
            return 0;
        }
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

    public static ushort UniqueIdOf(Lease lease) => (ushort)(lease.Id & 0xFFFF);

    private static MappingCommand PinholeCommand(Lease pinhole, uint lifetime) => new(
        MappingCommandKind.Map, pinhole.Protocol, pinhole.Origin, pinhole.Client, pinhole.InternalAddress, pinhole.InternalPort, 0, lifetime, pinhole.Description);

    private ulong Packets(Lease pinhole) => _kernel.PacketCount(Engine.KernelSync.ToMapping(pinhole, _time.GetUtcNow())) ?? 0;
}
