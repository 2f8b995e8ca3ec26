using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security;
using System.Text;
using System.Xml;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Upstream;

/// <summary>
/// UPnP IGD toward the upstream gateway: found with one SSDP search sent on the WAN interface (answers only from
/// the expected server count, and its description only from that address), then SOAP on its WANIPConnection (or
/// WANPPPConnection) service: AddPortMapping of the WAN address and the same port, DeletePortMapping,
/// GetExternalIPAddress. IGD has no epoch: a restart shows as a mapping it no longer holds
/// (GetSpecificPortMappingEntry, in the minute's check).
/// </summary>
internal sealed class UpnpUpstreamClient : UpstreamClient, IDisposable
{
    private const int MaxBody = 64 * 1024;
    private static readonly IPEndPoint s_ssdp = new(IPAddress.Parse("239.255.255.250"), 1900);

    private readonly HttpClient _http;
    private readonly Uri _control;
    private readonly string _service;

    private UpnpUpstreamClient(UpstreamTransport transport, IPAddress wanAddress, HttpClient http, Uri control, string service)
        : base(transport, wanAddress)
    {
        _http = http;
        _control = control;
        _service = service;
    }

    public override string Name => "upnp";

    public override bool HasEpoch => false;

    /// <summary>The public address, from GetExternalIPAddress.</summary>
    public IPAddress? PublicAddress { get; private set; }

    /// <summary>The control URL found, for the status.</summary>
    public Uri Control => _control;

    /// <summary>Searches for an IGD at <paramref name="server"/> on the WAN; null (with the reason) when none answers.</summary>
    public static async Task<(UpnpUpstreamClient? Client, string Detail)> DiscoverAsync(
        UpstreamTransport transport, string wanInterface, IPAddress wanAddress, IPAddress server, TimeSpan deadline, CancellationToken cancellationToken)
    {
        Uri? location;
        try
        {
            location = await SearchAsync(wanInterface, wanAddress, server, deadline, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return (null, "SSDP: " + e.SocketErrorCode);
        }

        if (location is null)
        {
            return (null, "no SSDP answer");
        }

        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = deadline, UseProxy = false })
        {
            Timeout = deadline,
            MaxResponseContentBufferSize = MaxBody,
        };
        try
        {
            string description = await http.GetStringAsync(location, cancellationToken).ConfigureAwait(false);
            if (FindService(description, location) is not { } found || !SameHost(found.Control, server))
            {
                http.Dispose();
                return (null, "no WANIPConnection service in " + location);
            }

            var client = new UpnpUpstreamClient(transport, wanAddress, http, found.Control, found.Type);
            return (client, "upnp " + found.Type);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or XmlException or UriFormatException)
        {
            http.Dispose();
            return (null, "description: " + e.GetType().Name);
        }
    }

    public override async Task<UpstreamReply> MapAsync(UpstreamMappingKey key, uint lifetime, string description, TimeSpan deadline, CancellationToken cancellationToken)
    {
        string protocol = key.Protocol == MappingProtocol.Tcp ? "TCP" : "UDP";
        string port = key.Port.ToString(CultureInfo.InvariantCulture);
        if (lifetime == 0)
        {
            SoapAnswer deleted = await CallAsync("DeletePortMapping", [("NewRemoteHost", string.Empty), ("NewExternalPort", port), ("NewProtocol", protocol)], deadline, cancellationToken)
                .ConfigureAwait(false);
            return Reply(deleted, key.Port, 0);
        }

        uint asked = lifetime;
        SoapAnswer added = await AddAsync(protocol, port, description, asked, deadline, cancellationToken).ConfigureAwait(false);
        if (added.Fault == 725)
        {
            // OnlyPermanentLeasesSupported (IGD:1 routers): a permanent one, deleted when the lease goes.
            asked = 0;
            added = await AddAsync(protocol, port, description, 0, deadline, cancellationToken).ConfigureAwait(false);
        }

        return Reply(added, key.Port, asked == 0 ? UpstreamService.MaxUpstreamLifetime : asked);
    }

    public override async Task<UpstreamReply> ProbeAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        SoapAnswer answer = await CallAsync("GetExternalIPAddress", [], deadline, cancellationToken).ConfigureAwait(false);
        if (answer.Answered && answer.Fault is null && IPAddress.TryParse(answer.Get("NewExternalIPAddress"), out IPAddress? address)
            && address.AddressFamily == AddressFamily.InterNetwork && !address.Equals(IPAddress.Any))
        {
            PublicAddress = address;
        }

        return answer.Answered && answer.Fault is null
            ? new UpstreamReply(true, MappingStatus.Granted, 0, PublicAddress, 0, 0, "upnp GetExternalIPAddress")
            : UpstreamReply.NoAnswer(answer.Detail);
    }

    /// <summary>Whether the upstream still holds a mapping of ours (false: it lost it; null: no answer).</summary>
    public async Task<bool?> HoldsAsync(UpstreamMappingKey key, TimeSpan deadline, CancellationToken cancellationToken)
    {
        SoapAnswer answer = await CallAsync("GetSpecificPortMappingEntry",
            [("NewRemoteHost", string.Empty), ("NewExternalPort", key.Port.ToString(CultureInfo.InvariantCulture)), ("NewProtocol", key.Protocol == MappingProtocol.Tcp ? "TCP" : "UDP")],
            deadline, cancellationToken).ConfigureAwait(false);
        return !answer.Answered ? null
            : answer.Fault is null ? string.Equals(answer.Get("NewInternalClient"), WanAddress.ToString(), StringComparison.Ordinal)
            : answer.Fault == 714 ? false : null;
    }

    public void Dispose() => _http.Dispose();

    private Task<SoapAnswer> AddAsync(string protocol, string port, string description, uint lifetime, TimeSpan deadline, CancellationToken cancellationToken) =>
        CallAsync("AddPortMapping",
        [
            ("NewRemoteHost", string.Empty), ("NewExternalPort", port), ("NewProtocol", protocol), ("NewInternalPort", port),
            ("NewInternalClient", WanAddress.ToString()), ("NewEnabled", "1"),
            ("NewPortMappingDescription", description.Length > 0 ? description : "PortMapper"),
            ("NewLeaseDuration", lifetime.ToString(CultureInfo.InvariantCulture)),
        ], deadline, cancellationToken);

    private UpstreamReply Reply(SoapAnswer answer, ushort port, uint lifetime)
    {
        if (!answer.Answered)
        {
            return UpstreamReply.NoAnswer(answer.Detail);
        }

        MappingStatus status = answer.Fault switch
        {
            null => MappingStatus.Granted,
            606 => MappingStatus.NotAuthorized,
            718 or 724 => MappingStatus.CannotProvideExternal,
            728 => MappingStatus.NoResources,
            _ => MappingStatus.UpstreamFailed,
        };
        return new UpstreamReply(true, status, port, PublicAddress, lifetime, 0, answer.Detail);
    }

    private async Task<SoapAnswer> CallAsync(string action, (string Name, string Value)[] arguments, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var body = new StringBuilder(512);
        body.Append("<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:")
            .Append(action).Append(" xmlns:u=\"").Append(_service).Append("\">");
        foreach (var (name, value) in arguments)
        {
            body.Append('<').Append(name).Append('>').Append(SecurityElement.Escape(value)).Append("</").Append(name).Append('>');
        }

        body.Append("</u:").Append(action).Append("></s:Body></s:Envelope>");
        using var request = new HttpRequestMessage(HttpMethod.Post, _control) { Content = new StringContent(body.ToString(), Encoding.UTF8, "text/xml") };
        request.Headers.TryAddWithoutValidation("SOAPAction", $"\"{_service}#{action}\"");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        try
        {
            using HttpResponseMessage response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            string text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            return SoapAnswer.Read(text, action, (int)response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or XmlException or ObjectDisposedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new SoapAnswer(false, null, [], e is OperationCanceledException ? "no answer" : "upnp " + e.GetType().Name);
        }
    }

    /// <summary>Sends one M-SEARCH out of the WAN interface and takes the first answer from <paramref name="server"/>.</summary>
    private static async Task<Uri?> SearchAsync(string wanInterface, IPAddress wanAddress, IPAddress server, TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.BindToDevice(wanInterface);
        socket.Bind(new IPEndPoint(wanAddress, 0));
        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, wanAddress.GetAddressBytes());
        socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, 2);
        byte[] search = Encoding.ASCII.GetBytes(
            "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        byte[] buffer = new byte[2048];
        try
        {
            await socket.SendToAsync(search, SocketFlags.None, s_ssdp, timeout.Token).ConfigureAwait(false);

            // A unicast search too: a server that does not follow the group on this link still answers it.
            await socket.SendToAsync(search, SocketFlags.None, new IPEndPoint(server, 1900), timeout.Token).ConfigureAwait(false);
            while (true)
            {
                SocketReceiveFromResult received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token)
                    .ConfigureAwait(false);
                if (received.RemoteEndPoint is not IPEndPoint from || !from.Address.Equals(server))
                {
                    continue;
                }

                if (Location(Encoding.ASCII.GetString(buffer, 0, received.ReceivedBytes)) is { } location && SameHost(location, server))
                {
                    return location;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static Uri? Location(string answer)
    {
        if (!answer.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
        {
            return null;
        }

        foreach (string line in answer.Split("\r\n"))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim().Equals("LOCATION", StringComparison.OrdinalIgnoreCase)
                && Uri.TryCreate(line[(colon + 1)..].Trim(), UriKind.Absolute, out Uri? uri) && uri.Scheme == Uri.UriSchemeHttp)
            {
                return uri;
            }
        }

        return null;
    }

    private static bool SameHost(Uri uri, IPAddress server) => IPAddress.TryParse(uri.Host, out IPAddress? host) && host.Equals(server);

    /// <summary>The first WANIPConnection (2, then 1) or WANPPPConnection service of a description, with its control URL.</summary>
    internal static (string Type, Uri Control)? FindService(string description, Uri location)
    {
        var services = new List<(string Type, string Control)>();
        string? urlBase = null;
        using (var reader = XmlReader.Create(new StringReader(description), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = MaxBody }))
        {
            string? type = null, control = null;
            bool positioned = false; // ReadElementContentAsString leaves the reader on the next node already
            while (positioned || reader.Read())
            {
                positioned = false;
                if (reader.NodeType == XmlNodeType.Element)
                {
                    switch (reader.LocalName)
                    {
                        case "URLBase":
                            urlBase = reader.ReadElementContentAsString().Trim();
                            positioned = true;
                            break;
                        case "service":
                            type = control = null;
                            break;
                        case "serviceType":
                            type = reader.ReadElementContentAsString().Trim();
                            positioned = true;
                            break;
                        case "controlURL":
                            control = reader.ReadElementContentAsString().Trim();
                            positioned = true;
                            break;
                    }
                }

                if (type is not null && control is not null)
                {
                    services.Add((type, control));
                    type = control = null;
                }
            }
        }

        foreach (string wanted in (string[])["WANIPConnection:2", "WANIPConnection:1", "WANPPPConnection:1"])
        {
            foreach (var (type, control) in services)
            {
                if (type.EndsWith(":service:" + wanted, StringComparison.Ordinal)
                    && Uri.TryCreate(urlBase is { Length: > 0 } b && Uri.TryCreate(b, UriKind.Absolute, out Uri? baseUri) ? baseUri : location, control, out Uri? uri)
                    && uri.Scheme == Uri.UriSchemeHttp)
                {
                    return (type, uri);
                }
            }
        }

        return null;
    }

    /// <summary>A SOAP answer: the action's out arguments, or the UPnP error code of a fault.</summary>
    internal sealed record SoapAnswer(bool Answered, int? Fault, Dictionary<string, string> Values, string Detail)
    {
        public string? Get(string name) => Values.GetValueOrDefault(name);

        public static SoapAnswer Read(string text, string action, int status)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            int? fault = null;
            bool inResponse = false;
            bool positioned = false; // ReadElementContentAsString leaves the reader on the next node already
            using var reader = XmlReader.Create(new StringReader(text), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = MaxBody });
            while (positioned || reader.Read())
            {
                positioned = false;
                if (reader.NodeType != XmlNodeType.Element)
                {
                    continue;
                }

                if (reader.LocalName == action + "Response")
                {
                    inResponse = true;
                }
                else if (reader.LocalName == "errorCode")
                {
                    fault = int.TryParse(reader.ReadElementContentAsString().Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int code) ? code : 501;
                    positioned = true;
                }
                else if (inResponse && !reader.IsEmptyElement && values.Count < 32)
                {
                    string name = reader.LocalName;
                    values[name] = reader.ReadElementContentAsString();
                    positioned = true;
                }
            }

            if (fault is null && (status != 200 || !inResponse))
            {
                return new SoapAnswer(true, status == 200 ? 501 : status, values, string.Create(CultureInfo.InvariantCulture, $"upnp HTTP {status}"));
            }

            return new SoapAnswer(true, fault, values, fault is { } f ? string.Create(CultureInfo.InvariantCulture, $"upnp error {f}") : "upnp " + action);
        }
    }
}
