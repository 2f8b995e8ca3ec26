using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Protocols.Mapping;
using static PortMapper.Protocols.Upnp.SoapResult;

namespace PortMapper.Protocols.Upnp;

/// <summary>WANIPConnection:1 and :2 port mapping actions.</summary>
public static partial class UpnpHandler
{
    private const uint Igd2DefaultLease = 604800;

    private static UpnpStep AddPortMapping(int version, bool any, SoapCall call, IPAddress caller, IUpnpContext context)
    {
        if (!UpnpArguments.TryRemoteHost(call.Get("NewRemoteHost"), AddressFamily.InterNetwork, out IPAddress? remoteHost)
            || !UpnpArguments.TryPort(call.Get("NewExternalPort"), out ushort externalPort)
            || !UpnpArguments.TryProtocol(call.Get("NewProtocol"), out MappingProtocol protocol)
            || !UpnpArguments.TryPort(call.Get("NewInternalPort"), out ushort internalPort)
            || !UpnpArguments.TryBoolean(call.Get("NewEnabled"), out _)
            || !UpnpArguments.TryUInt32(call.Get("NewLeaseDuration"), out uint leaseDuration))
        {
            return UpnpStep.Reply(Fail(UpnpError.InvalidArgs));
        }

        if (externalPort == 0 && !any)
        {
            return UpnpStep.Reply(Fail(UpnpErrorCode.WildCardNotPermittedInExtPort, "WildCardNotPermittedInExtPort"));
        }

        if (internalPort == 0)
        {
            return UpnpStep.Reply(version == 2 ? Fail(UpnpErrorCode.WildCardNotPermittedInIntPort, "WildCardNotPermittedInIntPort") : Fail(UpnpError.InvalidArgs));
        }

        if (CheckInternalClient(call.Get("NewInternalClient"), AddressFamily.InterNetwork, context, out IPAddress? client) is { } refused)
        {
            return UpnpStep.Reply(Fail(refused));
        }

        // IGD:1: 0 is a permanent lease. IGD:2: 0 and anything longer mean a week (WANIPConnection:2 §2.3.16).
        bool permanent = false;
        if (version == 1 && leaseDuration == 0)
        {
            permanent = context.AllowPermanent;
            leaseDuration = Igd2DefaultLease;
        }
        else if (leaseDuration == 0 || leaseDuration > Igd2DefaultLease)
        {
            leaseDuration = Igd2DefaultLease;
        }

        // Reserved and gateway-owned ports (729), policy (606), another host's mapping (718), another mechanism's
        // mapping of this host (729), and moving the caller's own mapping to another internal port are decided by
        // the admission stage behind the engine, in one command.
        var command = new MappingCommand(
            MappingCommandKind.Map,
            protocol,
            MappingOrigin.Upnp,
            caller,
            client!,
            internalPort,
            externalPort,
            leaseDuration,
            UpnpArguments.SanitizeDescription(call.Get("NewPortMappingDescription")),
            PreferFailure: !any,
            Filters: remoteHost is null ? [] : [new MappingFilter(new IPNetwork(remoteHost, 32), 0)],
            Permanent: permanent);
        return UpnpStep.Execute(command, (outcome, _) => outcome.Status switch
        {
            MappingStatus.Granted when any => Ok(Out("NewReservedPort", outcome.ExternalPort.ToString(CultureInfo.InvariantCulture))),
            MappingStatus.Granted => Ok(),
            MappingStatus.NotAuthorized => Fail(UpnpError.NotAuthorized),
            MappingStatus.QuotaExceeded or MappingStatus.NoResources => Fail(UpnpErrorCode.NoPortMapsAvailable, "NoPortMapsAvailable"),
            MappingStatus.CannotProvideExternal => Fail(UpnpErrorCode.ConflictInMappingEntry, "ConflictInMappingEntry"),
            MappingStatus.ConflictWithOtherMechanism => Fail(UpnpErrorCode.ConflictWithOtherMechanisms, "ConflictWithOtherMechanisms"),
            _ => Fail(UpnpError.ActionFailed),
        });
    }

    private static UpnpStep DeletePortMapping(SoapCall call, IPAddress caller, IUpnpContext context)
    {
        if (!TryKey(call, out IPAddress? remoteHost, out ushort externalPort, out MappingProtocol protocol))
        {
            return UpnpStep.Reply(Fail(UpnpError.InvalidArgs));
        }

        IMappingView? holder = context.FindByExternal(protocol, externalPort);
        if (holder is null || holder.IsPinhole || holder.RemotePeer is not null || !SameRemoteHost(holder, remoteHost))
        {
            return UpnpStep.Reply(Fail(UpnpErrorCode.NoSuchEntryInArray, "NoSuchEntryInArray"));
        }

        if (context.SecureMode && !SameAddress(holder.Client, caller))
        {
            return UpnpStep.Reply(Fail(UpnpError.NotAuthorized));
        }

        return UpnpStep.Execute(DeleteOf(holder), (_, _) => Ok());
    }

    /// <summary>
    /// WANIPConnection:2 §2.5.17. Without NewManage only the caller's own mappings in the range go. With it, and
    /// another host's mapping in the range, secure mode refuses the whole request (606) and nothing is deleted.
    /// </summary>
    private static UpnpStep DeletePortMappingRange(SoapCall call, IPAddress caller, IUpnpContext context)
    {
        if (!TryRange(call, out ushort start, out ushort end, out MappingProtocol protocol, out bool manage))
        {
            return UpnpStep.Reply(Fail(UpnpError.InvalidArgs));
        }

        if (start > end)
        {
            return UpnpStep.Reply(Fail(UpnpErrorCode.InconsistentParameters, "InconsistentParameters"));
        }

        List<IMappingView> inRange = [.. context.PortMappings().Where(l => l.Protocol == protocol && l.ExternalPort >= start && l.ExternalPort <= end)];
        List<IMappingView> own = [.. inRange.Where(l => SameAddress(l.Client, caller))];
        bool others = own.Count < inRange.Count;
        if (manage && others && context.SecureMode)
        {
            return UpnpStep.Reply(Fail(UpnpError.NotAuthorized));
        }

        List<IMappingView> targets = manage ? inRange : own;
        if (targets.Count == 0)
        {
            return UpnpStep.Reply(others ? Fail(UpnpError.NotAuthorized) : Fail(UpnpErrorCode.PortMappingNotFound, "PortMappingNotFound"));
        }

        return UpnpStep.Execute([.. targets.Select(DeleteOf)], (_, _) => Ok());
    }

    private static SoapResult GetGenericPortMappingEntry(SoapCall call, IUpnpContext context)
    {
        if (!UpnpArguments.TryPort(call.Get("NewPortMappingIndex"), out ushort index))
        {
            return Fail(UpnpError.InvalidArgs);
        }

        IReadOnlyList<IMappingView> mappings = context.PortMappings();
        if (index >= mappings.Count)
        {
            return Fail(UpnpErrorCode.SpecifiedArrayIndexInvalid, "SpecifiedArrayIndexInvalid");
        }

        IMappingView lease = mappings[index];
        DateTimeOffset now = context.Now;
        return Ok(
            Out("NewRemoteHost", RemoteHostOf(lease)),
            Out("NewExternalPort", lease.ExternalPort.ToString(CultureInfo.InvariantCulture)),
            Out("NewProtocol", UpnpArguments.ProtocolName(lease.Protocol)),
            Out("NewInternalPort", lease.InternalPort.ToString(CultureInfo.InvariantCulture)),
            Out("NewInternalClient", lease.InternalAddress.ToString()),
            Out("NewEnabled", "1"),
            Out("NewPortMappingDescription", lease.Description),
            Out("NewLeaseDuration", LeaseDurationOf(lease, now)));
    }

    private static SoapResult GetSpecificPortMappingEntry(SoapCall call, IUpnpContext context)
    {
        if (!TryKey(call, out IPAddress? remoteHost, out ushort externalPort, out MappingProtocol protocol))
        {
            return Fail(UpnpError.InvalidArgs);
        }

        IMappingView? lease = context.FindByExternal(protocol, externalPort);
        if (lease is null || lease.IsPinhole || lease.RemotePeer is not null || !SameRemoteHost(lease, remoteHost))
        {
            return Fail(UpnpErrorCode.NoSuchEntryInArray, "NoSuchEntryInArray");
        }

        return Ok(
            Out("NewInternalPort", lease.InternalPort.ToString(CultureInfo.InvariantCulture)),
            Out("NewInternalClient", lease.InternalAddress.ToString()),
            Out("NewEnabled", "1"),
            Out("NewPortMappingDescription", lease.Description),
            Out("NewLeaseDuration", LeaseDurationOf(lease, context.Now)));
    }

    /// <summary>WANIPConnection:2 §2.5.18: the mappings in a port range as an XML document (escaped inside the response).</summary>
    private static SoapResult GetListOfPortMappings(SoapCall call, IPAddress caller, IUpnpContext context)
    {
        if (!TryRange(call, out ushort start, out ushort end, out MappingProtocol protocol, out bool manage)
            || !UpnpArguments.TryPort(call.Get("NewNumberOfPorts"), out ushort number))
        {
            return Fail(UpnpError.InvalidArgs);
        }

        if (start > end)
        {
            return Fail(UpnpErrorCode.InconsistentParameters, "InconsistentParameters");
        }

        IEnumerable<IMappingView> selected = context.PortMappings()
            .Where(l => l.Protocol == protocol && l.ExternalPort >= start && l.ExternalPort <= end && (manage || SameAddress(l.Client, caller)));
        List<IMappingView> list = [.. number == 0 ? selected : selected.Take(number)];
        if (list.Count == 0)
        {
            return Fail(UpnpErrorCode.PortMappingNotFound, "PortMappingNotFound");
        }

        DateTimeOffset now = context.Now;
        var xml = new StringBuilder(256 * list.Count);
        xml.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?><p:PortMappingList xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\" ")
            .Append("xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"urn:schemas-upnp-org:gw:WANIPConnection http://www.upnp.org/schemas/gw/WANIPConnection-v2.xsd\">");
        foreach (IMappingView lease in list)
        {
            xml.Append("<p:PortMappingEntry>");
            Element(xml, "NewRemoteHost", RemoteHostOf(lease));
            Element(xml, "NewExternalPort", lease.ExternalPort.ToString(CultureInfo.InvariantCulture));
            Element(xml, "NewProtocol", UpnpArguments.ProtocolName(lease.Protocol));
            Element(xml, "NewInternalPort", lease.InternalPort.ToString(CultureInfo.InvariantCulture));
            Element(xml, "NewInternalClient", lease.InternalAddress.ToString());
            Element(xml, "NewEnabled", "1");
            Element(xml, "NewDescription", lease.Description);
            Element(xml, "NewLeaseTime", LeaseDurationOf(lease, now));
            xml.Append("</p:PortMappingEntry>");
        }

        xml.Append("</p:PortMappingList>");
        return Ok(Out("NewPortListing", xml.ToString()));

        static void Element(StringBuilder xml, string name, string value)
        {
            xml.Append("<p:").Append(name).Append('>');
            SoapWriter.AppendEscaped(xml, value);
            xml.Append("</p:").Append(name).Append('>');
        }
    }

    /// <summary>The arguments that name a mapping: NewRemoteHost, NewExternalPort, NewProtocol.</summary>
    private static bool TryKey(SoapCall call, out IPAddress? remoteHost, out ushort externalPort, out MappingProtocol protocol)
    {
        externalPort = 0;
        protocol = default;
        return UpnpArguments.TryRemoteHost(call.Get("NewRemoteHost"), AddressFamily.InterNetwork, out remoteHost)
            && UpnpArguments.TryPort(call.Get("NewExternalPort"), out externalPort)
            && UpnpArguments.TryProtocol(call.Get("NewProtocol"), out protocol);
    }

    private static bool TryRange(SoapCall call, out ushort start, out ushort end, out MappingProtocol protocol, out bool manage)
    {
        end = 0;
        protocol = default;
        manage = false;
        return UpnpArguments.TryPort(call.Get("NewStartPort"), out start)
            & UpnpArguments.TryPort(call.Get("NewEndPort"), out end)
            & UpnpArguments.TryProtocol(call.Get("NewProtocol"), out protocol)
            & UpnpArguments.TryBoolean(call.Get("NewManage"), out manage);
    }

    /// <summary>A delete the lease table matches to exactly this lease, whoever asks on its owner's behalf.</summary>
    private static MappingCommand DeleteOf(IMappingView lease) => new(
        MappingCommandKind.Delete,
        lease.Protocol,
        lease.Origin,
        lease.Client,
        lease.InternalAddress,
        lease.InternalPort,
        lease.ExternalPort,
        0,
        lease.Description,
        Nonce: lease.Nonce,
        RemotePeer: lease.RemotePeer);

    /// <summary>The mapping's remote host as UPnP shows it: the one host it is limited to, or empty (any).</summary>
    private static string RemoteHostOf(IMappingView lease) =>
        lease.FilterList is [{ Port: 0 } only] && only.Network.PrefixLength == 32 ? only.Network.BaseAddress.ToString() : string.Empty;

    private static bool SameRemoteHost(IMappingView lease, IPAddress? remoteHost) =>
        remoteHost is null || RemoteHostOf(lease) == remoteHost.ToString();

    private static string LeaseDurationOf(IMappingView lease, DateTimeOffset now) =>
        lease.Expires is null ? "0" : lease.SecondsLeft(now).ToString(CultureInfo.InvariantCulture);
}
