using System.Globalization;
using System.Net;
using System.Text;
using System.Xml.Linq;
using static PortMapper.Conformance.Tool.CaseContext;

namespace PortMapper.Conformance.Tool;

/// <summary>UPnP Device Architecture 1.1 (SSDP, description, GENA) and the IGD:1/IGD:2 WANIPConnection service.</summary>
internal static class UpnpSuite
{
    private const string Suite = "upnp";

    public static IEnumerable<CaseDefinition> Cases() =>
    [
        new("uda-1.3.3-search-igd", Suite, "UDA 1.1 §1.3.3", "a unicast M-SEARCH for the IGD is answered with CACHE-CONTROL, EXT, LOCATION, SERVER, ST and USN", SearchIgd),
        new("uda-1.3.3-search-rootdevice", Suite, "UDA 1.1 §1.3.3", "ST upnp:rootdevice is answered with USN uuid:...::upnp:rootdevice", SearchRootDevice),
        new("uda-1.3.3-search-service", Suite, "UDA 1.1 §1.3.3", "ST for the WANIPConnection service is answered, ST echoed", SearchService),
        new("uda-1.2.2-max-age", Suite, "UDA 1.1 §1.2.2", "advertisements last at least 30 minutes: CACHE-CONTROL max-age of 1800 or more (a SHOULD)", MaxAge),
        new("uda-1.3.3-search-other-silent", Suite, "UDA 1.1 §1.3.3", "a search for a device type the gateway is not gets no answer", SearchOtherSilent),
        new("uda-2.3-description", Suite, "UDA 1.1 §2.3, IGD:1 §2", "the description is well-formed XML: specVersion 1.x, an InternetGatewayDevice with WANDevice > WANConnectionDevice > WANIPConnection", DescriptionCase),
        new("uda-2.5-scpd-wellformed", Suite, "UDA 1.1 §2.5", "every service description (SCPD) is served and well-formed, with actions and a state table", ScpdWellFormed),
        new("uda-2.5-scpd-consistent", Suite, "UDA 1.1 §2.5", "every action argument names a state variable of its service's table", ScpdConsistent),
        new("igd-wanipc-required-actions", Suite, "WANIPConnection:1 §2.4", "the WANIPConnection SCPD has the required actions", RequiredActions),
        new("igd-wanipc-getexternalipaddress", Suite, "WANIPConnection:1 §2.4.18", "GetExternalIPAddress returns an IPv4 address", GetExternalIp),
        new("igd-wanipc-getstatusinfo", Suite, "WANIPConnection:1 §2.4.14", "GetStatusInfo returns ConnectionStatus Connected, a LastConnectionError and an uptime", GetStatusInfo),
        new("igd-wanipc-getconnectiontypeinfo", Suite, "WANIPConnection:1 §2.4.2", "GetConnectionTypeInfo names IP_Routed among the possible types", GetConnectionTypeInfo),
        new("igd-wanipc-getnatrsipstatus", Suite, "WANIPConnection:1 §2.4.13", "GetNATRSIPStatus says NAT is enabled (a gateway that maps ports translates)", GetNatRsipStatus),
        new("igd-wancic-getcommonlinkproperties", Suite, "WANCommonInterfaceConfig:1 §2.2.1", "GetCommonLinkProperties returns the access type, bit rates and link status Up", GetCommonLinkProperties),
        new("igd-wanipc-addportmapping", Suite, "WANIPConnection:1 §2.4.16", "AddPortMapping succeeds and GetSpecificPortMappingEntry returns what was added", AddAndGet),
        new("igd-wanipc-addportmapping-again", Suite, "WANIPConnection:1 §2.4.16", "AddPortMapping of the same mapping again (a renewal) succeeds", AddAgain),
        new("igd-wanipc-addportmapping-402", Suite, "WANIPConnection:1 §2.4.16", "an unknown NewProtocol gets 402 Invalid Args", BadProtocol),
        new("igd-wanipc-addportmapping-716", Suite, "WANIPConnection:1 §2.4.16, :2 §2.5.16", "NewExternalPort 0 (a wildcard) gets 716 WildCardNotPermittedInExtPort", WildcardExternalPort),
        new("igd-wanipc-addportmapping-718", Suite, "WANIPConnection:1 §2.4.16", "a port another host holds gets 718 ConflictInMappingEntry", Conflict),
        new("igd-wanipc-getgeneric-713", Suite, "WANIPConnection:1 §2.4.15", "GetGenericPortMappingEntry past the last index gets 713 SpecifiedArrayIndexInvalid", GenericPastEnd),
        new("igd-wanipc-getspecific-714", Suite, "WANIPConnection:1 §2.4.15", "GetSpecificPortMappingEntry for no mapping gets 714 NoSuchEntryInArray", SpecificMissing),
        new("igd-wanipc-deleteportmapping", Suite, "WANIPConnection:1 §2.4.17", "DeletePortMapping removes the mapping: the entry is gone after", DeleteCase),
        new("igd-wanipc-deleteportmapping-714", Suite, "WANIPConnection:1 §2.4.17", "DeletePortMapping of no mapping gets 714 NoSuchEntryInArray", DeleteMissing),
        new("igd-soap-401-invalid-action", Suite, "UDA 1.1 §3.2.2", "an action the service does not have gets 401 Invalid Action", InvalidAction),
        new("igd2-wanipc-addanyportmapping", Suite, "WANIPConnection:2 §2.5.17", "AddAnyPortMapping returns the port it reserved", AddAny),
        new("igd2-wanipc-getlistofportmappings", Suite, "WANIPConnection:2 §2.5.20", "GetListOfPortMappings lists a mapping just added, as a well-formed PortMappingList", ListOfPortMappings),
        new("igd2-wanipc-deleteportmappingrange", Suite, "WANIPConnection:2 §2.5.19", "DeletePortMappingRange removes this host's mappings in the range", DeleteRange),
        new("igd2-wanipc-lease-zero", Suite, "WANIPConnection:2 §2.5.16", "an IGD:2 AddPortMapping with NewLeaseDuration 0 gets a finite lease (at most 604800 s)", LeaseZero),
        new("uda-4.1.2-subscribe", Suite, "UDA 1.1 §4.1.2, §4.2", "SUBSCRIBE gets 200 with SID and TIMEOUT, and the initial event (SEQ 0) comes to the callback", Subscribe),
        new("uda-4.1.3-renew", Suite, "UDA 1.1 §4.1.3", "a renewal with the SID gets 200 and the same SID", Renew),
        new("uda-4.1.4-unsubscribe", Suite, "UDA 1.1 §4.1.4", "UNSUBSCRIBE gets 200; a renewal after it gets 412", Unsubscribe),
        new("uda-4.1.2-subscribe-no-nt", Suite, "UDA 1.1 §4.1.2", "SUBSCRIBE with CALLBACK but no NT gets 412 Precondition Failed", SubscribeWithoutNt),
    ];

    private static ushort Port(CaseContext c, int offset) => (ushort)(c.Options.BasePort + 80 + offset);

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static async Task<string?> SearchAsync(CaseContext c, string target)
    {
        using var socket = c.Gateway.Udp();
        byte[]? answer = await c.Gateway.ExchangeAsync(socket, GatewayProbe.SsdpPort, UpnpClient.Search(target, c.Gateway.Address.ToString()), TimeSpan.FromSeconds(1.5), attempts: 2);
        return answer is null ? null : Encoding.UTF8.GetString(answer);
    }

    private static void CheckSearchAnswer(string? answer, string target)
    {
        Expect(answer is not null, "an answer", "silence");
        Expect(answer!.StartsWith("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal), "HTTP/1.1 200 OK", answer.Split("\r\n")[0]);
        string? cache = UpnpClient.HeaderOf(answer, "CACHE-CONTROL");
        Expect(cache is not null && cache.Contains("max-age", StringComparison.OrdinalIgnoreCase), "CACHE-CONTROL: max-age=N", cache ?? "none");
        Expect(UpnpClient.HeaderOf(answer, "EXT") is not null, "an EXT header", "none");
        Expect(UpnpClient.HeaderOf(answer, "LOCATION") is { } l && l.StartsWith("http://", StringComparison.Ordinal), "LOCATION: http://...", UpnpClient.HeaderOf(answer, "LOCATION") ?? "none");
        Expect(UpnpClient.HeaderOf(answer, "SERVER") is { } s && s.Contains("UPnP/1.", StringComparison.Ordinal), "SERVER: OS/version UPnP/1.x product/version", UpnpClient.HeaderOf(answer, "SERVER") ?? "none");
        Expect(UpnpClient.HeaderOf(answer, "ST") == target, $"ST: {target}", UpnpClient.HeaderOf(answer, "ST") ?? "none");
        string? usn = UpnpClient.HeaderOf(answer, "USN");
        Expect(usn is not null && usn.StartsWith("uuid:", StringComparison.Ordinal) && (target.StartsWith("uuid:", StringComparison.Ordinal) || usn.EndsWith("::" + target, StringComparison.Ordinal)),
            $"USN: uuid:...::{target}", usn ?? "none");
    }

    private static async Task SearchIgd(CaseContext c)
    {
        _ = await UpnpClient.GetAsync(c);
        CheckSearchAnswer(await SearchAsync(c, UpnpClient.Igd1), UpnpClient.Igd1);
    }

    private static async Task MaxAge(CaseContext c)
    {
        _ = await UpnpClient.GetAsync(c);
        string? answer = await SearchAsync(c, "upnp:rootdevice");
        string? cache = answer is null ? null : UpnpClient.HeaderOf(answer, "CACHE-CONTROL");
        // UDA 1.1 §1.2.2, CACHE-CONTROL: "max-age ... SHOULD be greater than or equal to 1800 seconds (30 minutes)";
        // shorter ones make every control point re-search often. miniupnpd 2.3.1 sends 120.
        Expect(cache is not null && int.TryParse(cache[(cache.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim(), out int age) && age >= 1800,
            "max-age of at least 1800", cache ?? "none");
    }

    private static async Task SearchRootDevice(CaseContext c)
    {
        _ = await UpnpClient.GetAsync(c);
        CheckSearchAnswer(await SearchAsync(c, "upnp:rootdevice"), "upnp:rootdevice");
    }

    private static async Task SearchService(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        string target = upnp.WanIpConnection.ServiceType[..^1] + "1";
        CheckSearchAnswer(await SearchAsync(c, target), target);
    }

    private static async Task SearchOtherSilent(CaseContext c)
    {
        _ = await UpnpClient.GetAsync(c);
        byte[]? first = await c.Gateway.AnswerBeforeProbeAsync(GatewayProbe.SsdpPort, UpnpClient.Search("urn:schemas-upnp-org:device:MediaRenderer:1", c.Gateway.Address.ToString()),
            UpnpClient.Search("upnp:rootdevice", c.Gateway.Address.ToString()), a => Encoding.UTF8.GetString(a).Contains("upnp:rootdevice", StringComparison.Ordinal));
        Expect(first is null, "no answer for a MediaRenderer", () => Encoding.UTF8.GetString(first!).Split("\r\n")[0]);
    }

    private static async Task DescriptionCase(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        XNamespace ns = "urn:schemas-upnp-org:device-1-0";
        XElement root = upnp.Description.Root!;
        Expect(root.Name == ns + "root", "a root element in urn:schemas-upnp-org:device-1-0", root.Name.ToString());
        Expect(root.Element(ns + "specVersion")?.Element(ns + "major")?.Value.Trim() == "1", "specVersion major 1", root.Element(ns + "specVersion")?.ToString() ?? "none");
        Expect(upnp.DeviceType.StartsWith("urn:schemas-upnp-org:device:InternetGatewayDevice:", StringComparison.Ordinal), "an InternetGatewayDevice", upnp.DeviceType);
        string[] types = [.. upnp.Description.Descendants(ns + "deviceType").Select(d => d.Value.Trim())];
        Expect(types.Any(t => t.StartsWith("urn:schemas-upnp-org:device:WANDevice:", StringComparison.Ordinal))
            && types.Any(t => t.StartsWith("urn:schemas-upnp-org:device:WANConnectionDevice:", StringComparison.Ordinal)),
            "WANDevice and WANConnectionDevice", string.Join(", ", types));
        XElement device = root.Element(ns + "device")!;
        foreach (string field in new[] { "friendlyName", "manufacturer", "modelName", "UDN" })
        {
            Expect(device.Element(ns + field)?.Value.Trim() is { Length: > 0 }, $"a {field}", "none");
        }

        Expect(device.Element(ns + "UDN")!.Value.Trim().StartsWith("uuid:", StringComparison.Ordinal), "UDN uuid:...", device.Element(ns + "UDN")!.Value);
    }

    private static async Task<XDocument> ScpdAsync(UpnpService service)
    {
        HttpReply? reply = await GatewayProbe.HttpAsync(GatewayProbe.EndPointOf(service.ScpdUrl), GatewayProbe.HttpRequest("GET", service.ScpdUrl, []));
        Expect(reply is { Status: 200 }, $"200 for {service.ScpdUrl}", reply?.StatusLine ?? "no answer");
        XDocument? scpd = UpnpClient.TryXml(reply!.Body);
        Expect(scpd is not null, $"well-formed XML at {service.ScpdUrl}", reply.Body.Length > 80 ? reply.Body[..80] : reply.Body);
        return scpd!;
    }

    private static async Task ScpdWellFormed(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        XNamespace ns = "urn:schemas-upnp-org:service-1-0";
        foreach (UpnpService service in upnp.Services)
        {
            XDocument scpd = await ScpdAsync(service);
            Expect(scpd.Root?.Name == ns + "scpd", $"an scpd root in urn:schemas-upnp-org:service-1-0 ({service.ServiceType})", scpd.Root?.Name.ToString() ?? "none");
            Expect(scpd.Root!.Element(ns + "serviceStateTable")?.Elements(ns + "stateVariable").Any() == true, $"state variables ({service.ServiceType})", "none");
        }
    }

    private static async Task ScpdConsistent(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        XNamespace ns = "urn:schemas-upnp-org:service-1-0";
        foreach (UpnpService service in upnp.Services)
        {
            XDocument scpd = await ScpdAsync(service);
            var variables = scpd.Descendants(ns + "stateVariable").Select(v => v.Element(ns + "name")?.Value.Trim()).ToHashSet(StringComparer.Ordinal);
            foreach (XElement argument in scpd.Descendants(ns + "argument"))
            {
                string name = argument.Element(ns + "name")?.Value.Trim() ?? "?";
                string? related = argument.Element(ns + "relatedStateVariable")?.Value.Trim();
                string direction = argument.Element(ns + "direction")?.Value.Trim() ?? string.Empty;
                Expect(related is not null && variables.Contains(related), $"{service.ServiceType} argument {name} tied to a declared state variable", related ?? "none");
                Expect(direction is "in" or "out", $"{service.ServiceType} argument {name} with direction in or out", direction);
            }
        }
    }

    private static async Task RequiredActions(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        XNamespace ns = "urn:schemas-upnp-org:service-1-0";
        XDocument scpd = await ScpdAsync(upnp.WanIpConnection);
        var actions = scpd.Descendants(ns + "action").Select(a => a.Element(ns + "name")?.Value.Trim()).ToHashSet(StringComparer.Ordinal);
        string[] required = ["SetConnectionType", "GetConnectionTypeInfo", "RequestConnection", "ForceTermination", "GetStatusInfo", "GetNATRSIPStatus",
            "GetGenericPortMappingEntry", "GetSpecificPortMappingEntry", "AddPortMapping", "DeletePortMapping", "GetExternalIPAddress"];
        string[] missing = [.. required.Where(a => !actions.Contains(a))];
        if (upnp.WanIpVersion >= 2)
        {
            missing = [.. missing, .. new[] { "AddAnyPortMapping", "DeletePortMappingRange", "GetListOfPortMappings" }.Where(a => !actions.Contains(a))];
        }

        Expect(missing.Length == 0, "every required action", "missing " + string.Join(", ", missing));
    }

    private static async Task GetExternalIp(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.CallAsync("GetExternalIPAddress");
        Expect(reply.Status == 200 && IPAddress.TryParse(reply["NewExternalIPAddress"], out IPAddress? address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork,
            "200 with NewExternalIPAddress an IPv4 address", reply.ToString());
    }

    private static async Task GetStatusInfo(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.CallAsync("GetStatusInfo");
        Expect(reply.Status == 200 && reply["NewConnectionStatus"] == "Connected", "200 with NewConnectionStatus Connected", reply.ToString());
        Expect(reply["NewLastConnectionError"] is { Length: > 0 } && uint.TryParse(reply["NewUptime"], out _), "NewLastConnectionError and a numeric NewUptime", reply.ToString());
    }

    private static async Task GetConnectionTypeInfo(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.CallAsync("GetConnectionTypeInfo");
        Expect(reply.Status == 200 && reply["NewConnectionType"] is { Length: > 0 } && reply["NewPossibleConnectionTypes"]?.Contains("IP_Routed", StringComparison.Ordinal) == true,
            "200 with NewConnectionType and IP_Routed in NewPossibleConnectionTypes", reply.ToString());
    }

    private static async Task GetNatRsipStatus(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.CallAsync("GetNATRSIPStatus");
        Expect(reply.Status == 200 && reply["NewNATEnabled"] is "1" or "true" && reply["NewRSIPAvailable"] is "0" or "1" or "false" or "true",
            "200 with NewNATEnabled 1 and a boolean NewRSIPAvailable", reply.ToString());
    }

    private static async Task GetCommonLinkProperties(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        UpnpService service = upnp.Services.FirstOrDefault(s => s.ServiceType.StartsWith("urn:schemas-upnp-org:service:WANCommonInterfaceConfig:", StringComparison.Ordinal))
            ?? throw new CaseFailedException("a WANCommonInterfaceConfig service in the description (IGD:1 §2: required)", "none");
        SoapReply reply = await UpnpClient.CallAsync(service, "GetCommonLinkProperties", []);
        Expect(reply.Status == 200 && reply["NewWANAccessType"] is { Length: > 0 } && uint.TryParse(reply["NewLayer1UpstreamMaxBitRate"], out _)
            && uint.TryParse(reply["NewLayer1DownstreamMaxBitRate"], out _) && reply["NewPhysicalLinkStatus"] == "Up",
            "200 with NewWANAccessType, both bit rates and NewPhysicalLinkStatus Up", reply.ToString());
    }

    private static async Task AddAndGet(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        ushort port = Port(c, 0);
        SoapReply added = await upnp.AddAsync(c, port, "TCP", port);
        Expect(added.Status == 200 && added.ErrorCode is null, "200", added.ToString());
        SoapReply entry = await upnp.CallAsync("GetSpecificPortMappingEntry", UpnpClient.KeyArguments(port, "TCP"));
        Expect(entry.Status == 200, "200 for the entry just added", entry.ToString());
        Expect(entry["NewInternalClient"] == c.Gateway.LocalAddress.ToString() && entry["NewInternalPort"] == N(port),
            $"NewInternalClient {c.Gateway.LocalAddress}, NewInternalPort {port}", entry.ToString());
        Expect(entry["NewEnabled"] is "1" or "true" && entry["NewPortMappingDescription"] == "pm-conformance", "NewEnabled 1 and the description", entry.ToString());
        Expect(uint.TryParse(entry["NewLeaseDuration"], out uint lease) && lease is > 0 and <= 3600, "NewLeaseDuration 1 to 3600 (remaining)", entry.ToString());
    }

    private static async Task AddAgain(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        ushort port = Port(c, 1);
        SoapReply first = await upnp.AddAsync(c, port, "UDP", port);
        SoapReply again = await upnp.AddAsync(c, port, "UDP", port);
        Expect(first.Status == 200 && again.Status == 200, "200 twice", $"{first}; {again}");
    }

    private static async Task BadProtocol(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.AddAsync(c, Port(c, 2), "SCTP", Port(c, 2));
        // The SCPD's allowedValueList for PortMappingProtocol is TCP and UDP; UDA 1.1 §3.2.2 answers an argument of the
        // wrong value with 402 Invalid Args. miniupnpd 2.3.1 answers 200 (and maps something).
        Expect(reply.ErrorCode == 402, "UPnP error 402", reply.ToString());
    }

    private static async Task WildcardExternalPort(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.AddAsync(c, 0, "TCP", Port(c, 3));
        Expect(reply.ErrorCode == 716, "UPnP error 716", reply.ToString());
    }

    private static async Task Conflict(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        IPAddress other = c.Options.ExtraClients.FirstOrDefault() ?? throw Skip("needs a second address of this host (--also-client)");
        ushort port = Port(c, 4);
        SoapReply theirs = await upnp.AddAsync(c, port, "TCP", port, from: other);
        Expect(theirs.Status == 200, "the other host's mapping added", theirs.ToString());
        SoapReply mine = await upnp.AddAsync(c, port, "TCP", port);
        Expect(mine.ErrorCode == 718, "UPnP error 718", mine.ToString());
    }

    private static async Task GenericPastEnd(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.CallAsync("GetGenericPortMappingEntry", ("NewPortMappingIndex", "65000"));
        Expect(reply.ErrorCode == 713, "UPnP error 713", reply.ToString());
    }

    private static async Task SpecificMissing(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.CallAsync("GetSpecificPortMappingEntry", UpnpClient.KeyArguments(Port(c, 5), "UDP"));
        Expect(reply.ErrorCode == 714, "UPnP error 714", reply.ToString());
    }

    private static async Task DeleteCase(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        ushort port = Port(c, 6);
        SoapReply added = await upnp.AddAsync(c, port, "UDP", port);
        Expect(added.Status == 200, "the mapping added", added.ToString());
        SoapReply deleted = await upnp.CallAsync("DeletePortMapping", UpnpClient.KeyArguments(port, "UDP"));
        Expect(deleted.Status == 200, "200", deleted.ToString());
        SoapReply entry = await upnp.CallAsync("GetSpecificPortMappingEntry", UpnpClient.KeyArguments(port, "UDP"));
        Expect(entry.ErrorCode == 714, "the entry gone (714)", entry.ToString());
    }

    private static async Task DeleteMissing(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.CallAsync("DeletePortMapping", UpnpClient.KeyArguments(Port(c, 7), "TCP"));
        // WANIPConnection:1 §2.4.17 lists 714 NoSuchEntryInArray, "the specified value does not exist in the array",
        // for DeletePortMapping; a 200 tells the control point it deleted something. miniupnpd 2.3.1 answers 200.
        Expect(reply.ErrorCode == 714, "UPnP error 714", reply.ToString());
    }

    private static async Task InvalidAction(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        SoapReply reply = await upnp.CallAsync("OpenAllThePorts");
        Expect(reply.ErrorCode == 401, "UPnP error 401", reply.ToString());
    }

    private static async Task<UpnpClient> Igd2Async(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        return upnp.WanIpVersion >= 2 ? upnp : throw Skip("the gateway offers WANIPConnection:1 only (IGD:2 actions do not apply)");
    }

    private static async Task AddAny(CaseContext c)
    {
        UpnpClient upnp = await Igd2Async(c);
        ushort port = Port(c, 8);
        SoapReply reply = await UpnpClient.CallAsync(upnp.WanIpConnection, "AddAnyPortMapping", UpnpClient.AddArguments(port, "TCP", port, c.Gateway.LocalAddress.ToString(), "pm-conformance", 600));
        Expect(reply.Status == 200 && ushort.TryParse(reply["NewReservedPort"], out ushort reserved) && reserved != 0, "200 with a NewReservedPort", reply.ToString());
        ushort got = ushort.Parse(reply["NewReservedPort"]!, CultureInfo.InvariantCulture);
        c.Gateway.OnCleanup($"UPnP TCP {got}", () => UpnpClient.CallAsync(upnp.WanIpConnection, "DeletePortMapping", UpnpClient.KeyArguments(got, "TCP")));
    }

    private static async Task ListOfPortMappings(CaseContext c)
    {
        UpnpClient upnp = await Igd2Async(c);
        ushort port = Port(c, 9);
        SoapReply added = await upnp.AddAsync(c, port, "UDP", port);
        Expect(added.Status == 200, "the mapping added", added.ToString());
        SoapReply list = await upnp.CallAsync("GetListOfPortMappings", ("NewStartPort", N(port)), ("NewEndPort", N(port)), ("NewProtocol", "UDP"), ("NewManage", "0"), ("NewNumberOfPorts", "10"));
        Expect(list.Status == 200 && list["NewPortListing"] is { } listing, "200 with NewPortListing", list.ToString());
        XDocument? xml = UpnpClient.TryXml(list["NewPortListing"]!);
        Expect(xml is not null, "a well-formed PortMappingList", list["NewPortListing"]!);
        Expect(xml!.Descendants().Any(e => e.Name.LocalName == "NewExternalPort" && e.Value.Trim() == N(port)), $"an entry for port {port}", list["NewPortListing"]!);
    }

    private static async Task DeleteRange(CaseContext c)
    {
        UpnpClient upnp = await Igd2Async(c);
        ushort first = Port(c, 10);
        foreach (int i in new[] { 0, 1 })
        {
            SoapReply added = await upnp.AddAsync(c, (ushort)(first + i), "TCP", (ushort)(first + i));
            Expect(added.Status == 200, "the mappings added", added.ToString());
        }

        SoapReply deleted = await upnp.CallAsync("DeletePortMappingRange", ("NewStartPort", N(first)), ("NewEndPort", N(first + 1)), ("NewProtocol", "TCP"), ("NewManage", "0"));
        Expect(deleted.Status == 200, "200", deleted.ToString());
        SoapReply entry = await upnp.CallAsync("GetSpecificPortMappingEntry", UpnpClient.KeyArguments(first, "TCP"));
        Expect(entry.ErrorCode == 714, "the entries gone (714)", entry.ToString());
    }

    private static async Task LeaseZero(CaseContext c)
    {
        UpnpClient upnp = await Igd2Async(c);
        ushort port = Port(c, 12);
        SoapReply added = await upnp.AddAsync(c, port, "UDP", port, lease: 0);
        Expect(added.Status == 200, "200", added.ToString());
        SoapReply entry = await upnp.CallAsync("GetSpecificPortMappingEntry", UpnpClient.KeyArguments(port, "UDP"));
        Expect(uint.TryParse(entry["NewLeaseDuration"], out uint lease) && lease is > 0 and <= 604800, "NewLeaseDuration 1 to 604800", entry.ToString());
    }

    /// <summary>SUBSCRIBE (or a renewal with <paramref name="sid"/>) to the WANIPConnection's events.</summary>
    public static Task<HttpReply?> SubscribeAsync(UpnpClient upnp, Uri? callback, string? sid = null, bool withNt = true, IPAddress? from = null)
    {
        var headers = new List<(string, string)>();
        if (callback is not null)
        {
            headers.Add(("CALLBACK", $"<{callback}>"));
        }

        if (withNt && sid is null)
        {
            headers.Add(("NT", "upnp:event"));
        }

        if (sid is not null)
        {
            headers.Add(("SID", sid));
        }

        headers.Add(("TIMEOUT", "Second-300"));
        Uri url = upnp.WanIpConnection.EventUrl;
        return GatewayProbe.HttpAsync(GatewayProbe.EndPointOf(url), GatewayProbe.HttpRequest("SUBSCRIBE", url, headers), from: from);
    }

    public static Task<HttpReply?> UnsubscribeAsync(UpnpClient upnp, string sid)
    {
        Uri url = upnp.WanIpConnection.EventUrl;
        return GatewayProbe.HttpAsync(GatewayProbe.EndPointOf(url), GatewayProbe.HttpRequest("UNSUBSCRIBE", url, [("SID", sid)]));
    }

    private static async Task<string> SubscribedAsync(CaseContext c, UpnpClient upnp, GenaListener listener)
    {
        HttpReply? reply = await SubscribeAsync(upnp, listener.Callback);
        Expect(reply is { Status: 200 }, "200", reply?.StatusLine ?? "no answer");
        string? sid = reply!.Header("SID");
        Expect(sid is not null && sid.StartsWith("uuid:", StringComparison.Ordinal), "SID: uuid:...", sid ?? "none");
        c.Gateway.OnCleanup("GENA " + sid, () => UnsubscribeAsync(upnp, sid!));
        return sid!;
    }

    private static async Task Subscribe(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        using var listener = new GenaListener(c.Gateway.LocalAddress);
        HttpReply? reply = await SubscribeAsync(upnp, listener.Callback);
        Expect(reply is { Status: 200 }, "200", reply?.StatusLine ?? "no answer");
        string? sid = reply!.Header("SID");
        Expect(sid is not null && sid.StartsWith("uuid:", StringComparison.Ordinal), "SID: uuid:...", sid ?? "none");
        c.Gateway.OnCleanup("GENA " + sid, () => UnsubscribeAsync(upnp, sid!));
        Expect(reply.Header("TIMEOUT") is { } t && t.StartsWith("Second-", StringComparison.OrdinalIgnoreCase), "TIMEOUT: Second-N", reply.Header("TIMEOUT") ?? "none");

        HttpRequestRead? notify = await listener.NextAsync(TimeSpan.FromSeconds(5));
        Expect(notify is not null, "the initial event within 5 s", "none");
        Expect(notify!.Method == "NOTIFY" && notify.Header("NT") == "upnp:event" && notify.Header("NTS") == "upnp:propchange", "NOTIFY with NT upnp:event, NTS upnp:propchange",
            $"{notify.Method}, NT {notify.Header("NT")}, NTS {notify.Header("NTS")}");
        Expect(notify.Header("SID") == sid && notify.Header("SEQ") == "0", $"SID {sid} and SEQ 0", $"SID {notify.Header("SID")}, SEQ {notify.Header("SEQ")}");
        XDocument? body = UpnpClient.TryXml(notify.Body);
        Expect(body?.Root?.Name == XName.Get("propertyset", "urn:schemas-upnp-org:event-1-0") && body.Root.Elements().Any(),
            "an e:propertyset with properties", notify.Body.Length > 120 ? notify.Body[..120] : notify.Body);
    }

    private static async Task Renew(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        using var listener = new GenaListener(c.Gateway.LocalAddress);
        string sid = await SubscribedAsync(c, upnp, listener);
        HttpReply? renewed = await SubscribeAsync(upnp, null, sid);
        Expect(renewed is { Status: 200 } && renewed.Header("SID") == sid, $"200 with SID {sid}", renewed is null ? "no answer" : $"{renewed.StatusLine}, SID {renewed.Header("SID")}");
    }

    private static async Task Unsubscribe(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        using var listener = new GenaListener(c.Gateway.LocalAddress);
        string sid = await SubscribedAsync(c, upnp, listener);
        HttpReply? gone = await UnsubscribeAsync(upnp, sid);
        Expect(gone is { Status: 200 }, "200", gone?.StatusLine ?? "no answer");
        HttpReply? renewed = await SubscribeAsync(upnp, null, sid);
        Expect(renewed is { Status: 412 }, "412 for a renewal of an ended subscription", renewed?.StatusLine ?? "no answer");
    }

    private static async Task SubscribeWithoutNt(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        using var listener = new GenaListener(c.Gateway.LocalAddress);
        HttpReply? reply = await SubscribeAsync(upnp, listener.Callback, withNt: false);
        // UDA 1.1 §4.1.2: "412 Precondition Failed: An NT header field is not present, or its value is not upnp:event".
        // miniupnpd 2.3.1 subscribes anyway.
        if (reply is { Status: 200 } && reply.Header("SID") is { } sid)
        {
            c.Gateway.OnCleanup("GENA " + sid, () => UnsubscribeAsync(upnp, sid));
        }

        Expect(reply is { Status: 412 }, "412 Precondition Failed", reply?.StatusLine ?? "no answer");
    }
}
