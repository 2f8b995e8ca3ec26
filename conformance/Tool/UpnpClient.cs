using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using static PortMapper.Conformance.Tool.CaseContext;

namespace PortMapper.Conformance.Tool;

/// <summary>A service as the device description lists it, its URLs resolved.</summary>
internal sealed record UpnpService(string ServiceType, string ServiceId, Uri ScpdUrl, Uri ControlUrl, Uri EventUrl);

/// <summary>What a SOAP call came back with: out arguments, or a UPnP error code from the fault.</summary>
internal sealed record SoapReply(int Status, IReadOnlyDictionary<string, string> Outputs, int? ErrorCode, string Body)
{
    public string? this[string name] => Outputs.TryGetValue(name, out string? value) ? value : null;

    public override string ToString() => ErrorCode is { } code ? $"HTTP {Status}, UPnP error {code}"
        : Status == 0 ? "no answer" : $"HTTP {Status}, {string.Join(", ", Outputs.Select(o => o.Key + "=" + o.Value))}";
}

/// <summary>
/// The gateway's UPnP side as a control point finds it: a unicast M-SEARCH to its port 1900 (UDA 1.1 §1.3.2; the
/// suite sends nothing to the multicast group), its description, and SOAP calls to its WANIPConnection.
/// </summary>
internal sealed class UpnpClient
{
    public const string Igd1 = "urn:schemas-upnp-org:device:InternetGatewayDevice:1";
    public const string Igd2 = "urn:schemas-upnp-org:device:InternetGatewayDevice:2";
    public const string WanIp = "urn:schemas-upnp-org:service:WANIPConnection:";

    private UpnpClient(Uri location, string searchAnswer, XDocument description, IReadOnlyList<UpnpService> services, string deviceType)
    {
        Location = location;
        SearchAnswer = searchAnswer;
        Description = description;
        Services = services;
        DeviceType = deviceType;
    }

    public Uri Location { get; }

    public string SearchAnswer { get; }

    public XDocument Description { get; }

    public IReadOnlyList<UpnpService> Services { get; }

    public string DeviceType { get; }

    /// <summary>The WANIPConnection service (the highest version offered).</summary>
    public UpnpService WanIpConnection => Services.Where(s => s.ServiceType.StartsWith(WanIp, StringComparison.Ordinal)).OrderByDescending(s => s.ServiceType, StringComparer.Ordinal).First();

    public int WanIpVersion => WanIpConnection.ServiceType[^1] - '0';

    /// <summary>Discovers the gateway once per run; SKIPs the case when it has no UPnP.</summary>
    public static async Task<UpnpClient> GetAsync(CaseContext c)
    {
        Task<UpnpClient?> discovery;
        lock (c.Gateway)
        {
            discovery = c.Gateway.Upnp ??= DiscoverAsync(c.Gateway);
        }

        return await discovery ?? throw Skip("the gateway answered no M-SEARCH for an InternetGatewayDevice on port 1900 (no UPnP, or UPnP off)");
    }

    public static byte[] Search(string target, string host) =>
        Encoding.ASCII.GetBytes($"M-SEARCH * HTTP/1.1\r\nHOST: {host}:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: {target}\r\nUSER-AGENT: Linux/1 UPnP/1.1 pm-conformance/1\r\n\r\n");

    public static string? HeaderOf(string answer, string name)
    {
        foreach (string line in answer.Split("\r\n"))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }

    private static async Task<UpnpClient?> DiscoverAsync(GatewayProbe gateway)
    {
        // IGD:2 where the gateway has it (its WANIPConnection:2 has every IGD:1 action too), else IGD:1.
        using Socket socket = gateway.Udp();
        byte[]? answer = await gateway.ExchangeAsync(socket, GatewayProbe.SsdpPort, Search(Igd2, gateway.Address.ToString()), TimeSpan.FromSeconds(1), attempts: 2)
            ?? await gateway.ExchangeAsync(socket, GatewayProbe.SsdpPort, Search(Igd1, gateway.Address.ToString()), TimeSpan.FromSeconds(1.5));
        if (answer is null)
        {
            return null;
        }

        string text = Encoding.UTF8.GetString(answer);
        if (HeaderOf(text, "LOCATION") is not { } location || !Uri.TryCreate(location, UriKind.Absolute, out Uri? url) || url.Scheme != "http")
        {
            return null;
        }

        HttpReply? reply = await GatewayProbe.HttpAsync(GatewayProbe.EndPointOf(url), GatewayProbe.HttpRequest("GET", url, []));
        if (reply is not { Status: 200 } || TryXml(reply.Body) is not { } description)
        {
            return null;
        }

        XNamespace ns = "urn:schemas-upnp-org:device-1-0";
        Uri baseUrl = description.Root?.Element(ns + "URLBase")?.Value is { Length: > 0 } b && Uri.TryCreate(b, UriKind.Absolute, out Uri? u) ? u : url;
        var services = new List<UpnpService>();
        foreach (XElement service in description.Descendants(ns + "service"))
        {
            string Text(string name) => service.Element(ns + name)?.Value.Trim() ?? string.Empty;
            if (Uri.TryCreate(baseUrl, Text("SCPDURL"), out Uri? scpd) && Uri.TryCreate(baseUrl, Text("controlURL"), out Uri? control) && Uri.TryCreate(baseUrl, Text("eventSubURL"), out Uri? events))
            {
                services.Add(new UpnpService(Text("serviceType"), Text("serviceId"), scpd, control, events));
            }
        }

        string deviceType = description.Root?.Element(ns + "device")?.Element(ns + "deviceType")?.Value.Trim() ?? string.Empty;
        return services.Any(s => s.ServiceType.StartsWith(WanIp, StringComparison.Ordinal)) ? new UpnpClient(url, text, description, services, deviceType) : null;
    }

    /// <summary>Parses XML the way a careful control point does: no DTD, no entities, no external anything.</summary>
    public static XDocument? TryXml(string text)
    {
        try
        {
            using var reader = XmlReader.Create(new StringReader(text), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            return XDocument.Load(reader);
        }
        catch (XmlException)
        {
            return null;
        }
    }

    public static string Envelope(string serviceType, string action, IEnumerable<(string Name, string Value)> arguments)
    {
        var body = new StringBuilder();
        body.Append("<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">");
        body.Append("<s:Body><u:").Append(action).Append(" xmlns:u=\"").Append(serviceType).Append("\">");
        foreach ((string name, string value) in arguments)
        {
            body.Append('<').Append(name).Append('>').Append(SecurityElementEscape(value)).Append("</").Append(name).Append('>');
        }

        body.Append("</u:").Append(action).Append("></s:Body></s:Envelope>\r\n");
        return body.ToString();
    }

    private static string SecurityElementEscape(string value) =>
        value.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    public Task<SoapReply> CallAsync(string action, params (string Name, string Value)[] arguments) => CallAsync(WanIpConnection, action, arguments);

    public static async Task<SoapReply> CallAsync(UpnpService service, string action, (string Name, string Value)[] arguments, string? rawBody = null, IPAddress? from = null)
    {
        string body = rawBody ?? Envelope(service.ServiceType, action, arguments);
        byte[] request = GatewayProbe.HttpRequest("POST", service.ControlUrl,
            [("CONTENT-TYPE", "text/xml; charset=\"utf-8\""), ("SOAPACTION", $"\"{service.ServiceType}#{action}\"")], body);
        HttpReply? reply = from is null ? await GatewayProbe.HttpAsync(GatewayProbe.EndPointOf(service.ControlUrl), request)
            : await GatewayProbe.HttpFromAsync(from, GatewayProbe.EndPointOf(service.ControlUrl), request);
        return Read(reply);
    }

    public static SoapReply Read(HttpReply? reply)
    {
        if (reply is null)
        {
            return new SoapReply(0, new Dictionary<string, string>(), null, string.Empty);
        }

        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        int? error = null;
        if (TryXml(reply.Body) is { } xml)
        {
            XElement? bodyElement = xml.Root?.Elements().FirstOrDefault(e => e.Name.LocalName == "Body");
            XElement? first = bodyElement?.Elements().FirstOrDefault();
            if (first?.Name.LocalName == "Fault")
            {
                string? code = xml.Descendants().FirstOrDefault(e => e.Name.LocalName == "errorCode")?.Value;
                error = int.TryParse(code, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : -1;
            }
            else if (first is not null)
            {
                foreach (XElement output in first.Elements())
                {
                    outputs[output.Name.LocalName] = output.Value;
                }
            }
        }

        return new SoapReply(reply.Status, outputs, error, reply.Body);
    }

    /// <summary>AddPortMapping arguments (IGD:1 and :2 take the same eight).</summary>
    public static (string, string)[] AddArguments(ushort externalPort, string protocol, ushort internalPort, string client, string description, uint lease) =>
    [
        ("NewRemoteHost", string.Empty), ("NewExternalPort", externalPort.ToString(CultureInfo.InvariantCulture)), ("NewProtocol", protocol),
        ("NewInternalPort", internalPort.ToString(CultureInfo.InvariantCulture)), ("NewInternalClient", client), ("NewEnabled", "1"),
        ("NewPortMappingDescription", description), ("NewLeaseDuration", lease.ToString(CultureInfo.InvariantCulture)),
    ];

    public static (string, string)[] KeyArguments(ushort externalPort, string protocol) =>
        [("NewRemoteHost", string.Empty), ("NewExternalPort", externalPort.ToString(CultureInfo.InvariantCulture)), ("NewProtocol", protocol)];

    /// <summary>AddPortMapping for this host; a success is deleted at the end of the run.</summary>
    public async Task<SoapReply> AddAsync(CaseContext c, ushort externalPort, string protocol, ushort internalPort, uint lease = 3600, IPAddress? from = null, string? client = null)
    {
        IPAddress source = from ?? c.Gateway.LocalAddress;
        SoapReply reply = await CallAsync(WanIpConnection, "AddPortMapping", AddArguments(externalPort, protocol, internalPort, client ?? source.ToString(), "pm-conformance", lease), from: from);
        if (reply.Status == 200)
        {
            c.Gateway.OnCleanup($"UPnP {protocol} {externalPort}", () => CallAsync(WanIpConnection, "DeletePortMapping", KeyArguments(externalPort, protocol), from: from));
        }

        return reply;
    }
}
