using System.Net;
using System.Text;
using static PortMapper.Conformance.Tool.CaseContext;

namespace PortMapper.Conformance.Tool;

/// <summary>
/// What a hostile LAN host tries: other hosts' ports, hostile XML and HTTP, CallStranger callbacks, malformed
/// datagrams. After each, the gateway must still answer.
/// </summary>
internal static class SecuritySuite
{
    private const string Suite = "security";

    public static IEnumerable<CaseDefinition> Cases() =>
    [
        new("sec-upnp-map-for-another-host", Suite, "WANIPConnection:2 §2.5.16 (secure mode), RFC 6886 §3.3", "AddPortMapping naming another host as NewInternalClient is refused and lists nothing", MapForAnotherHost),
        new("sec-upnp-delete-another-hosts-mapping", Suite, "WANIPConnection:2 §2.5.18", "DeletePortMapping of another host's mapping is refused and the mapping stays", DeleteAnotherHosts),
        new("sec-pcp-map-another-hosts-port", Suite, "RFC 6887 §11.3, §11.5", "a MAP cannot take over the external port another host holds", PcpTakeOver),
        new("sec-xml-doctype", Suite, "UDA 1.1 §3.2.1 (SOAP 1.1: no DTD)", "a SOAP body with a DOCTYPE and nested entities is refused, and the gateway answers after", Doctype),
        new("sec-xml-external-entity", Suite, "UDA 1.1 §3.2.1", "an external entity (XXE) is not fetched or echoed", ExternalEntity),
        new("sec-http-oversized-body", Suite, "UDA 1.1 §3.2.1", "a 4 MB SOAP body (refused or not) does not stop the gateway answering", OversizedBody),
        new("sec-http-host-rebinding", Suite, "UDA 2.0 §2.1 (DNS rebinding)", "a request whose Host names another host is refused", HostRebinding),
        new("sec-gena-callstranger", Suite, "UDA 2.0 §4.1.2 (CVE-2020-12695)", "SUBSCRIBE with a CALLBACK outside the subscriber's network is refused", CallStranger),
        new("sec-natpmp-garbage", Suite, "RFC 6886 §3.5", "malformed NAT-PMP datagrams do not stop the gateway answering", c => Garbage(c, GatewayProbe.PortControlPort, 0)),
        new("sec-pcp-garbage", Suite, "RFC 6887 §8.3", "malformed PCP datagrams do not stop the gateway answering", c => Garbage(c, GatewayProbe.PortControlPort, 2)),
        new("sec-ssdp-garbage", Suite, "UDA 1.1 §1.3.2", "malformed M-SEARCH datagrams do not stop the gateway answering", SsdpGarbage),
        new("sec-http-garbage", Suite, "UDA 1.1 §3", "garbage and truncated HTTP on the UPnP port do not stop the gateway answering", HttpGarbage),
    ];

    private static ushort Port(CaseContext c, int offset) => (ushort)(c.Options.BasePort + 120 + offset);

    /// <summary>The gateway still answers NAT-PMP/PCP (or, for UPnP, GetExternalIPAddress) within a few seconds.</summary>
    public static async Task AliveAsync(CaseContext c, bool upnp)
    {
        // A gateway may rate-limit a host that just sent junk: a few tries over a few seconds.
        for (int attempt = 0; attempt < 5; attempt++)
        {
            if (upnp)
            {
                UpnpClient client = await UpnpClient.GetAsync(c);
                if ((await client.CallAsync("GetExternalIPAddress")).Status == 200)
                {
                    return;
                }
            }
            else if (await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, NatPmpWire.ExternalAddressRequest()) is not null
                || await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, PortMapper.Conformance.PcpClient.PcpMessage.Announce(c.Gateway.LocalAddress)) is not null)
            {
                return;
            }

            await Task.Delay(1000, c.Cancellation);
        }

        throw new CaseFailedException("the gateway answering afterwards", "no answer for 5 s");
    }

    private static IPAddress Neighbour(CaseContext c)
    {
        byte[] bytes = c.Gateway.LocalAddress.GetAddressBytes();
        bytes[^1] = (byte)(bytes[^1] == 200 ? 201 : 200);
        return new IPAddress(bytes);
    }

    private static async Task MapForAnotherHost(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        ushort port = Port(c, 0);
        SoapReply reply = await upnp.AddAsync(c, port, "TCP", port, client: Neighbour(c).ToString());
        // IGD:2 answers 606 (Action not authorized); IGD:1 gateways in secure mode commonly answer 718 or 606.
        Expect(reply.ErrorCode is 606 or 718, "UPnP error 606 or 718", reply.ToString());
        SoapReply entry = await upnp.CallAsync("GetSpecificPortMappingEntry", UpnpClient.KeyArguments(port, "TCP"));
        Expect(entry.ErrorCode == 714, "no such entry afterwards (714)", entry.ToString());
    }

    private static async Task DeleteAnotherHosts(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        IPAddress other = c.Options.ExtraClients.FirstOrDefault() ?? throw Skip("needs a second address of this host (--also-client)");
        ushort port = Port(c, 1);
        SoapReply theirs = await upnp.AddAsync(c, port, "UDP", port, from: other);
        Expect(theirs.Status == 200, "the other host's mapping added", theirs.ToString());
        SoapReply deleted = await upnp.CallAsync("DeletePortMapping", UpnpClient.KeyArguments(port, "UDP"));
        Expect(deleted.ErrorCode is 606 or 714, "UPnP error 606 (or 714: no entry of this host)", deleted.ToString());
        SoapReply entry = await UpnpClient.CallAsync(upnp.WanIpConnection, "GetSpecificPortMappingEntry", UpnpClient.KeyArguments(port, "UDP"), from: other);
        Expect(entry.Status == 200 && entry["NewInternalClient"] == other.ToString(), $"the mapping still {other}'s", entry.ToString());
    }

    private static async Task PcpTakeOver(CaseContext c)
    {
        IPAddress other = c.Options.ExtraClients.FirstOrDefault() ?? throw Skip("needs a second address of this host (--also-client)");
        ushort port = Port(c, 2);
        byte[] theirNonce = PortMapper.Conformance.PcpClient.PcpMessage.NewNonce();
        (PortMapper.Conformance.PcpClient.PcpAnswer? theirs, _) = await PcpSuite.AskAsync(c,
            PortMapper.Conformance.PcpClient.PcpMessage.Map(other, 17, port, port, 600, theirNonce), other);
        Expect(theirs?.Result == 0, "the other host's mapping granted", theirs?.Result.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "silence");
        c.Gateway.OnCleanup($"PCP {other} {port}", async () => await PcpSuite.AskAsync(c, PortMapper.Conformance.PcpClient.PcpMessage.Map(other, 17, port, 0, 0, theirNonce), other));
        PortMapper.Conformance.PcpClient.PcpAnswer mine = await PcpSuite.MapAsync(c, 17, port, theirs!.ExternalPort, 600, PortMapper.Conformance.PcpClient.PcpMessage.NewNonce(), PortMapper.Conformance.PcpClient.PcpMessage.PreferFailure());
        Expect(mine.Result != 0 || mine.ExternalPort != theirs.ExternalPort, $"not external port {theirs.ExternalPort}", $"result {mine.Result}, port {mine.ExternalPort}");
    }

    private static string GetExternalIpEnvelope(UpnpClient upnp) => UpnpClient.Envelope(upnp.WanIpConnection.ServiceType, "GetExternalIPAddress", []);

    private static async Task Doctype(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        string envelope = GetExternalIpEnvelope(upnp);
        string body = "<?xml version=\"1.0\"?>\r\n<!DOCTYPE s:Envelope [<!ENTITY a \"aaaaaaaaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
            + envelope[(envelope.IndexOf("?>", StringComparison.Ordinal) + 2)..].Replace("</u:GetExternalIPAddress>", "&d;</u:GetExternalIPAddress>", StringComparison.Ordinal);
        SoapReply reply = await UpnpClient.CallAsync(upnp.WanIpConnection, "GetExternalIPAddress", [], body);
        // UDA 1.1 §3.2.1: control messages are SOAP 1.1, and SOAP 1.1 §3: "A SOAP message MUST NOT contain a Document
        // Type Declaration." Refusing it is also what keeps entity expansion (billion laughs) out. miniupnpd 2.3
        // answers 200 (its parser skips the DTD).
        Expect(reply.Status != 200, "a refusal (4xx or a SOAP fault)", reply.ToString());
        await AliveAsync(c, upnp: true);
    }

    private static async Task ExternalEntity(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        string envelope = UpnpClient.Envelope(upnp.WanIpConnection.ServiceType, "GetSpecificPortMappingEntry", UpnpClient.KeyArguments(Port(c, 3), "TCP"));
        string body = "<?xml version=\"1.0\"?>\r\n<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            + envelope[(envelope.IndexOf("?>", StringComparison.Ordinal) + 2)..].Replace("<NewRemoteHost></NewRemoteHost>", "<NewRemoteHost>&x;</NewRemoteHost>", StringComparison.Ordinal);
        SoapReply reply = await UpnpClient.CallAsync(upnp.WanIpConnection, "GetSpecificPortMappingEntry", [], body);
        Expect(!reply.Body.Contains("root:", StringComparison.Ordinal), "nothing of /etc/passwd in the answer", "the file's content");
        Expect(reply.Status != 200, "a refusal", reply.ToString());
        await AliveAsync(c, upnp: true);
    }

    private static async Task OversizedBody(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        string body = UpnpClient.Envelope(upnp.WanIpConnection.ServiceType, "AddPortMapping",
            UpnpClient.AddArguments(Port(c, 4), "TCP", Port(c, 4), c.Gateway.LocalAddress.ToString(), new string('x', 4 << 20), 600));
        SoapReply reply = await UpnpClient.CallAsync(upnp.WanIpConnection, "AddPortMapping", [], body);
        if (reply.Status == 200)
        {
            c.Gateway.OnCleanup($"UPnP TCP {Port(c, 4)}", () => upnp.CallAsync("DeletePortMapping", UpnpClient.KeyArguments(Port(c, 4), "TCP")));
        }

        // No standard sets a size limit, so either answer is conformant; what counts is that the gateway goes on.
        await AliveAsync(c, upnp: true);
    }

    private static async Task HostRebinding(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        Uri control = upnp.WanIpConnection.ControlUrl;
        string body = GetExternalIpEnvelope(upnp);
        byte[] content = Encoding.UTF8.GetBytes(body);
        string head = $"POST {control.PathAndQuery} HTTP/1.1\r\nHOST: rebind.attacker.example:{control.Port}\r\nCONTENT-TYPE: text/xml; charset=\"utf-8\"\r\n"
            + $"SOAPACTION: \"{upnp.WanIpConnection.ServiceType}#GetExternalIPAddress\"\r\nCONTENT-LENGTH: {content.Length}\r\nCONNECTION: close\r\n\r\n";
        HttpReply? reply = await GatewayProbe.HttpAsync(GatewayProbe.EndPointOf(control), [.. Encoding.ASCII.GetBytes(head), .. content]);
        Expect(reply is null || reply.Status != 200, "a refusal for Host: rebind.attacker.example", reply?.StatusLine ?? "closed");
        await AliveAsync(c, upnp: true);
    }

    private static async Task CallStranger(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        HttpReply? reply = await UpnpSuite.SubscribeAsync(upnp, new Uri("http://198.51.100.80:8080/victim"));
        if (reply is { Status: 200 } && reply.Header("SID") is { } sid)
        {
            c.Gateway.OnCleanup("GENA " + sid, () => UpnpSuite.UnsubscribeAsync(upnp, sid));
        }

        Expect(reply is not { Status: 200 }, "a refusal (412) for a callback at 198.51.100.80", reply?.StatusLine ?? "closed");
    }

    private static async Task Garbage(CaseContext c, int port, byte version)
    {
        var random = new Random(6886 + version);
        using var socket = c.Gateway.Udp();
        var server = new IPEndPoint(c.Gateway.Address, port);
        for (int i = 0; i < 48; i++)
        {
            byte[] junk = new byte[random.Next(0, i % 2 == 0 ? 16 : 120)];
            random.NextBytes(junk);
            if (junk.Length > 1)
            {
                junk[0] = version;
                junk[1] &= 0x7F;
            }

            await socket.SendToAsync(junk, System.Net.Sockets.SocketFlags.None, server);
        }

        await AliveAsync(c, upnp: false);
    }

    private static async Task SsdpGarbage(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        using var socket = c.Gateway.Udp();
        var server = new IPEndPoint(c.Gateway.Address, GatewayProbe.SsdpPort);
        string[] hostile =
        [
            "M-SEARCH * HTTP/1.1\r\n\r\n", "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: -1\r\nST: ssdp:all\r\n\r\n",
            "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nMX: 99999999999999999999\r\nST: " + new string('u', 1400) + "\r\n\r\n",
            "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nST: upnp:rootdevice\r\nST: ssdp:all\r\nX: \0\0\r\n\r\n", "NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\n\r\n", "\r\n\r\n\r\n",
        ];
        foreach (string datagram in hostile)
        {
            await socket.SendToAsync(Encoding.Latin1.GetBytes(datagram), System.Net.Sockets.SocketFlags.None, server);
        }

        byte[]? answer = await c.Gateway.ExchangeAsync(socket, GatewayProbe.SsdpPort, UpnpClient.Search("upnp:rootdevice", c.Gateway.Address.ToString()), TimeSpan.FromSeconds(1.5));
        Expect(answer is not null, "an answer to a valid search afterwards", "silence");
        _ = upnp;
    }

    private static async Task HttpGarbage(CaseContext c)
    {
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        IPEndPoint server = GatewayProbe.EndPointOf(upnp.Location);
        byte[][] hostile =
        [
            Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: " + server + "\r\nContent-Length: -5\r\n\r\n"),
            Encoding.ASCII.GetBytes("POST / HTTP/1.1\r\nHost: " + server + "\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n"),
            Encoding.ASCII.GetBytes("\u0001\u0002 garbage \r\n\r\n"),
            Encoding.ASCII.GetBytes("GET /" + new string('a', 70000) + " HTTP/1.1\r\nHost: " + server + "\r\n\r\n"),
            Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n" + string.Concat(Enumerable.Repeat("X-A: b\r\n", 2000)) + "\r\n"),
        ];
        foreach (byte[] request in hostile)
        {
            _ = await GatewayProbe.HttpAsync(server, request, TimeSpan.FromSeconds(3));
        }

        await AliveAsync(c, upnp: true);
    }
}
