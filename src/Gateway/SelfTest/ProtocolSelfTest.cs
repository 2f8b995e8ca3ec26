using System.Buffers.Binary;
using System.Net;
using System.Text;
using PortMapper.Gateway.Upnp;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.NatPmp;
using PortMapper.Protocols.Pcp;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.SelfTest;

/// <summary>
/// <c>portmapper selftest</c>: the pure protocol paths (NAT-PMP, PCP, SSDP and SOAP: decode, handle, encode) on
/// built-in requests, against an offline lease table, each answer checked against what the RFC or the UPnP
/// specification requires. Needs no network, no kernel and no state: useful on any board right after install,
/// and under user-mode emulation.
/// </summary>
internal static class ProtocolSelfTest
{
    private static readonly IPAddress s_client = IPAddress.Parse("192.168.77.10");
    private static readonly IPAddress s_other = IPAddress.Parse("192.168.77.20");
    private static readonly IPAddress s_client6 = IPAddress.Parse("fd00:77::10");

    /// <summary>Runs every case; writes one line per failure and the summary line; returns the exit code.</summary>
    public static int Run(TextWriter output, bool verbose)
    {
        int passed = 0;
        int failed = 0;
        foreach ((string id, Func<string?> check) in Cases())
        {
            string? failure;
            try
            {
                failure = check();
            }
            catch (Exception e)
            {
                failure = "threw " + e.GetType().Name + ": " + e.Message;
            }

            if (failure is null)
            {
                passed++;
                if (verbose)
                {
                    output.WriteLine($"PASS {id}");
                }
            }
            else
            {
                failed++;
                output.WriteLine($"FAIL {id}: {failure}");
            }
        }

        output.WriteLine(failed == 0 ? $"selftest: {passed} passed" : $"selftest: {passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    public static IEnumerable<(string Id, Func<string?> Check)> Cases()
    {
        yield return ("natpmp-external-address", NatPmpExternalAddress);
        yield return ("natpmp-map-udp", () => NatPmpMap(2, 5000, 5000, 3600, 0, 5000, 3600));
        yield return ("natpmp-map-tcp-lifetime-capped", () => NatPmpMap(1, 6000, 6000, 999_999, 0, 6000, 86400));
        yield return ("natpmp-delete", NatPmpDelete);
        yield return ("natpmp-privileged-port-other-granted", () => NatPmpMap(1, 8080, 80, 3600, 0, null, 3600));
        yield return ("natpmp-unsupported-version", () => NatPmpError([1, 0], 0, 1));
        yield return ("natpmp-unsupported-opcode", () => NatPmpError([0, 9, 0, 0], 9, 5));
        yield return ("natpmp-short-dropped", () => NatPmpDropped([0, 1, 0, 0, 0x13]));
        yield return ("natpmp-answer-dropped", () => NatPmpDropped([0, 128, 0, 0, 0, 0, 0, 0, 203, 0, 113, 1]));
        yield return ("pcp-map-ipv4", () => PcpMap(s_client, 7000, 7000, 0, PcpResultCode.Success, 7000));
        yield return ("pcp-map-ipv6", () => PcpMap(s_client6, 7001, 7001, 0, PcpResultCode.Success, 7001));
        yield return ("pcp-address-mismatch", () => PcpMap(s_client, 7002, 7002, 1, PcpResultCode.AddressMismatch, null));
        yield return ("pcp-unsupported-version", PcpUnsupportedVersion);
        yield return ("pcp-unsupported-opcode", () => PcpHeaderOnly(5, PcpResultCode.UnsupportedOpcode));
        yield return ("pcp-announce", () => PcpHeaderOnly(0, PcpResultCode.Success));
        yield return ("pcp-malformed-length", PcpMalformedLength);
        yield return ("pcp-unknown-mandatory-option", PcpUnknownMandatoryOption);
        yield return ("pcp-answer-dropped", PcpAnswerDropped);
        yield return ("ssdp-search-rootdevice", () => SsdpSearch("upnp:rootdevice", 1));
        yield return ("ssdp-search-igd1", () => SsdpSearch("urn:schemas-upnp-org:device:InternetGatewayDevice:1", 1));
        yield return ("ssdp-search-wanipconnection2", () => SsdpSearch("urn:schemas-upnp-org:service:WANIPConnection:2", 1));
        yield return ("ssdp-search-all", () => SsdpSearch("ssdp:all", 8));
        yield return ("ssdp-search-unknown-target", () => SsdpSearch("urn:schemas-upnp-org:device:MediaRenderer:1", 0));
        yield return ("ssdp-search-without-man", SsdpWithoutMan);
        yield return ("soap-get-external-address", SoapGetExternalAddress);
        yield return ("soap-add-then-get-specific", SoapAddThenGet);
        yield return ("soap-add-for-another-host", SoapAddForAnotherHost);
        yield return ("soap-delete-missing", SoapDeleteMissing);
        yield return ("soap-invalid-args", SoapInvalidArgs);
        yield return ("soap-doctype-refused", SoapDoctype);
        yield return ("soap-escaped-output", SoapEscapedOutput);
    }

    // ---- NAT-PMP (RFC 6886) ----

    private static NatPmpContext NatPmpContext => new(OfflineGateway.External, OfflineGateway.Epoch);

    /// <summary>Handles <paramref name="request"/> from the test client; the answer's octets (null if dropped).</summary>
    private static byte[]? NatPmp(OfflineGateway gateway, byte[] request, IPAddress? from = null)
    {
        IPAddress client = from ?? s_client;
        byte[] reply = new byte[NatPmpHandler.MaxReplyLength];
        NatPmpStep step = NatPmpHandler.Handle(request, client, NatPmpContext, reply);
        int length = step.Action switch
        {
            NatPmpAction.Drop => -1,
            NatPmpAction.Reply => step.ReplyLength,
            _ => NatPmpHandler.Complete(step.Request, gateway.Execute(step.Command, client), NatPmpContext, reply),
        };
        return length < 0 ? null : reply[..length];
    }

    private static byte[] NatPmpMapRequest(byte opcode, ushort internalPort, ushort externalPort, uint lifetime)
    {
        byte[] request = new byte[12];
        request[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(4), internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), externalPort);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(8), lifetime);
        return request;
    }

    private static string? NatPmpExternalAddress()
    {
        byte[]? reply = NatPmp(new OfflineGateway(), [0, 0]);
        return reply is null ? "dropped"
            : reply.Length != 12 ? $"{reply.Length} octets, expected 12 (§3.2)"
            : reply[0] != 0 || reply[1] != 128 ? $"header {reply[0]}/{reply[1]}, expected 0/128"
            : BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2)) != 0 ? "result code not 0"
            : BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)) != OfflineGateway.Epoch ? "epoch not echoed"
            : !new IPAddress(reply.AsSpan(8, 4)).Equals(OfflineGateway.External) ? $"address {new IPAddress(reply.AsSpan(8, 4))}"
            : null;
    }

    /// <summary>A map request; <paramref name="expectPort"/> null: any unprivileged port other than the one asked.</summary>
    private static string? NatPmpMap(byte opcode, ushort internalPort, ushort suggested, uint lifetime, ushort expectResult, ushort? expectPort, uint expectLifetime)
    {
        byte[]? reply = NatPmp(new OfflineGateway(), NatPmpMapRequest(opcode, internalPort, suggested, lifetime));
        if (reply is null || reply.Length != 16)
        {
            return $"answer of {reply?.Length.ToString() ?? "none"} octets, expected 16 (§3.3)";
        }

        ushort result = BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2));
        ushort inside = BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(8));
        ushort outside = BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(10));
        uint granted = BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(12));
        return reply[1] != 128 + opcode ? $"opcode {reply[1]}"
            : result != expectResult ? $"result {result}, expected {expectResult}"
            : inside != internalPort ? $"internal port {inside}, expected {internalPort}"
            : expectPort is { } port && outside != port ? $"external port {outside}, expected {port}"
            : expectPort is null && (outside == suggested || outside < 1024) ? $"external port {outside} for a reserved port {suggested}"
            : granted != expectLifetime ? $"lifetime {granted}, expected {expectLifetime}"
            : null;
    }

    private static string? NatPmpDelete()
    {
        var gateway = new OfflineGateway();
        _ = NatPmp(gateway, NatPmpMapRequest(2, 5100, 5100, 3600));
        if (gateway.Table.Count != 1)
        {
            return "the mapping to delete was not made";
        }

        byte[]? reply = NatPmp(gateway, NatPmpMapRequest(2, 5100, 0, 0));
        return reply is not { Length: 16 } ? "no 16-octet answer to the delete"
            : BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2)) != 0 ? "delete refused"
            : BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(12)) != 0 ? "lifetime not 0 in the delete's answer (§3.4)"
            : gateway.Table.Count != 0 ? "the lease is still in the table"
            : null;
    }

    private static string? NatPmpError(byte[] request, byte opcode, ushort expectResult)
    {
        byte[]? reply = NatPmp(new OfflineGateway(), request);
        return reply is null ? "dropped"
            : reply.Length < 8 ? $"{reply.Length} octets"
            : reply[0] != 0 ? $"version {reply[0]} in the answer, expected 0"
            : reply[1] != 128 + opcode ? $"opcode {reply[1]}, expected {128 + opcode}"
            : BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2)) != expectResult ? $"result {BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2))}, expected {expectResult}"
            : null;
    }

    private static string? NatPmpDropped(byte[] request)
    {
        var gateway = new OfflineGateway();
        return NatPmp(gateway, request) is { } reply ? $"answered with {reply.Length} octets" : gateway.Table.Count != 0 ? "changed the table" : null;
    }

    // ---- PCP (RFC 6887) ----

    private static PcpContext PcpContext => new(OfflineGateway.External, OfflineGateway.Epoch, false, 4, OfflineGateway.IsLanHost);

    private static byte[]? Pcp(OfflineGateway gateway, byte[] request, IPAddress client)
    {
        byte[] reply = new byte[PcpHandler.MaxReplyLength];
        PcpStep step = PcpHandler.Handle(request, client, PcpContext, reply);
        int length = step.Action switch
        {
            PcpAction.Drop => -1,
            PcpAction.Reply => step.ReplyLength,
            _ => PcpHandler.Complete(step.Request!, gateway.Execute(step.Command, client), PcpContext, reply),
        };
        return length < 0 ? null : reply[..length];
    }

    private static byte[] PcpHeader(byte opcode, uint lifetime, IPAddress client, int dataLength)
    {
        byte[] request = new byte[24 + dataLength];
        request[0] = 2;
        request[1] = opcode;
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(4), lifetime);
        client.MapToIPv6().TryWriteBytes(request.AsSpan(8, 16), out _);
        return request;
    }

    private static readonly byte[] s_nonce = [0x50, 0x4d, 0x73, 0x65, 0x6c, 0x66, 0x74, 0x65, 0x73, 0x74, 0x21, 0x21];

    private static byte[] PcpMapRequest(IPAddress client, ushort internalPort, ushort suggested)
    {
        byte[] request = PcpHeader(1, 3600, client, 36);
        s_nonce.CopyTo(request, 24);
        request[36] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(40), internalPort);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(42), suggested);
        (client.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? IPAddress.Any.MapToIPv6() : IPAddress.IPv6Any).TryWriteBytes(request.AsSpan(44, 16), out _);
        return request;
    }

    /// <summary>A MAP request; <paramref name="lieAbout"/> != 0 puts another address in the header than the source.</summary>
    private static string? PcpMap(IPAddress client, ushort internalPort, ushort suggested, int lieAbout, PcpResultCode expect, ushort? expectPort)
    {
        var gateway = new OfflineGateway();
        byte[] request = PcpMapRequest(lieAbout == 0 ? client : s_other, internalPort, suggested);
        byte[]? reply = Pcp(gateway, request, client);
        if (reply is null)
        {
            return "dropped";
        }

        var result = (PcpResultCode)reply[3];
        if (reply.Length != 60 || reply[0] != 2 || reply[1] != 0x81)
        {
            return $"answer of {reply.Length} octets, version {reply[0]}, opcode {reply[1]:x2}; expected 60, 2, 0x81 (§7.2, §11.1)";
        }

        if (result != expect)
        {
            return $"result {result}, expected {expect}";
        }

        if (!reply.AsSpan(24, 12).SequenceEqual(s_nonce))
        {
            return "nonce not echoed (§11.1)";
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(8)) != OfflineGateway.Epoch)
        {
            return "epoch not in the answer (§8.1)";
        }

        uint lifetime = BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4));
        if (expectPort is not { } port)
        {
            // An error: its lifetime says how long the condition lasts (§7.2); the table is untouched.
            return gateway.Table.Count != 0 ? "an error left a lease" : lifetime == 0 ? "an error with lifetime 0 (§7.4: long-lived error expected)" : null;
        }

        ushort assigned = BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(42));
        IPAddress external = PcpCodec.FromWire(reply.AsSpan(44, 16));
        return assigned != port ? $"assigned port {assigned}, expected {port}"
            : lifetime is 0 or > 3600 ? $"lifetime {lifetime}"
            : client.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !external.Equals(OfflineGateway.External) ? $"external address {external}"
            : gateway.Table.Count != 1 ? $"{gateway.Table.Count} leases in the table, expected 1"
            : null;
    }

    private static string? PcpUnsupportedVersion()
    {
        byte[] request = PcpMapRequest(s_client, 7003, 7003);
        request[0] = 3;
        byte[]? reply = Pcp(new OfflineGateway(), request, s_client);
        return reply is null ? "dropped"
            : reply[0] != 2 ? $"version {reply[0]} in the answer, expected 2 (§9: the highest supported)"
            : (PcpResultCode)reply[3] != PcpResultCode.UnsupportedVersion ? $"result {(PcpResultCode)reply[3]}"
            : reply.Length > request.Length ? "answer larger than the request"
            : null;
    }

    private static string? PcpHeaderOnly(byte opcode, PcpResultCode expect)
    {
        byte[]? reply = Pcp(new OfflineGateway(), PcpHeader(opcode, 0, s_client, 0), s_client);
        return reply is null ? "dropped"
            : reply.Length != 24 ? $"{reply.Length} octets, expected 24"
            : reply[1] != (0x80 | opcode) ? $"opcode {reply[1]:x2}"
            : (PcpResultCode)reply[3] != expect ? $"result {(PcpResultCode)reply[3]}, expected {expect}"
            : null;
    }

    private static string? PcpMalformedLength()
    {
        byte[] request = PcpMapRequest(s_client, 7004, 7004)[..58];
        var gateway = new OfflineGateway();
        byte[]? reply = Pcp(gateway, request, s_client);
        // §7.4/§8.1: not a multiple of 4 or too short: MALFORMED_REQUEST, or silently dropped; never a mapping.
        return gateway.Table.Count != 0 ? "a malformed request made a lease"
            : reply is not null && (PcpResultCode)reply[3] != PcpResultCode.MalformedRequest ? $"result {(PcpResultCode)reply[3]}"
            : reply is not null && reply.Length > request.Length + 2 ? "answer larger than the request"
            : null;
    }

    private static string? PcpUnknownMandatoryOption()
    {
        byte[] plain = PcpMapRequest(s_client, 7005, 7005);
        byte[] request = new byte[plain.Length + 8];
        plain.CopyTo(request, 0);
        request[plain.Length] = 0x7E; // an option code below 128 (mandatory to process) this server does not know
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(plain.Length + 2), 4);
        var gateway = new OfflineGateway();
        byte[]? reply = Pcp(gateway, request, s_client);
        return reply is null ? "dropped"
            : (PcpResultCode)reply[3] != PcpResultCode.UnsupportedOption ? $"result {(PcpResultCode)reply[3]}, expected UNSUPP_OPTION (§7.3)"
            : gateway.Table.Count != 0 ? "made a lease anyway"
            : null;
    }

    private static string? PcpAnswerDropped()
    {
        byte[] request = PcpMapRequest(s_client, 7006, 7006);
        request[1] = 0x81; // R bit: an answer, which a server must never answer (§8.3)
        return Pcp(new OfflineGateway(), request, s_client) is { } reply ? $"answered with {reply.Length} octets" : null;
    }

    // ---- SSDP (UPnP Device Architecture 1.1 §1.3) ----

    private static readonly (RootDevice Igd1, RootDevice Igd2) s_roots = RootDevice.Create(Guid.Parse("8d4fc59a-7c3e-4b7a-9d0c-4f6b3e1f2a10"));
    private static readonly SsdpIdentity s_identity = new("Linux UPnP/1.1 PortMapper/1.0", 1800, 1, 1);

    private static string? SsdpSearch(string target, int expectAnswers)
    {
        byte[] datagram = Encoding.ASCII.GetBytes($"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\nST: {target}\r\n\r\n");
        SsdpDecodeError error = SsdpCodec.TryDecodeSearch(datagram, true, out SsdpSearch? search);
        if (error != SsdpDecodeError.None || search is null)
        {
            return $"search refused: {error}";
        }

        List<SsdpTarget> targets = SsdpCodec.Match(search.SearchTarget, s_roots.Igd1, s_roots.Igd2);
        if (expectAnswers == 8 ? targets.Count < 8 : targets.Count != expectAnswers)
        {
            return $"{targets.Count} answers, expected {(expectAnswers == 8 ? "one per device and service" : expectAnswers)}";
        }

        foreach (SsdpTarget answerTarget in targets)
        {
            string answer = SsdpCodec.Response(answerTarget, "http://192.168.77.1:5000/rootDesc.xml", s_identity, OfflineGateway.Now);
            string[] lines = answer.Split("\r\n");
            bool Has(string header, string? value = null) => lines.Any(l => l.StartsWith(header + ":", StringComparison.OrdinalIgnoreCase)
                && (value is null || l[(header.Length + 1)..].Trim() == value));
            if (lines[0] != "HTTP/1.1 200 OK" || !Has("CACHE-CONTROL") || !Has("EXT") || !Has("LOCATION", "http://192.168.77.1:5000/rootDesc.xml")
                || !Has("SERVER") || !Has("USN", answerTarget.Usn) || !Has("BOOTID.UPNP.ORG", "1") || !answer.EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                return $"answer for {answerTarget.Target} lacks a required header:\n{answer}";
            }

            if (target != "ssdp:all" && !Has("ST", target))
            {
                return $"ST is not the search target {target}";
            }
        }

        return null;
    }

    private static string? SsdpWithoutMan()
    {
        byte[] datagram = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMX: 2\r\nST: ssdp:all\r\n\r\n"u8.ToArray();
        return SsdpCodec.TryDecodeSearch(datagram, true, out _) == SsdpDecodeError.None ? "a search without MAN: \"ssdp:discover\" was accepted" : null;
    }

    // ---- SOAP (IGD:1 and IGD:2 WANIPConnection) ----

    private const string WanIp1 = "urn:schemas-upnp-org:service:WANIPConnection:1";
    private const string WanIp2 = "urn:schemas-upnp-org:service:WANIPConnection:2";

    private static string Envelope(string serviceType, string action, string arguments) =>
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
        + $"<s:Body><u:{action} xmlns:u=\"{serviceType}\">{arguments}</u:{action}></s:Body></s:Envelope>";

    private static string AddPortMapping(ushort port, string client, string description = "selftest") =>
        $"<NewRemoteHost></NewRemoteHost><NewExternalPort>{port}</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>{port}</NewInternalPort>"
        + $"<NewInternalClient>{client}</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>{description}</NewPortMappingDescription><NewLeaseDuration>3600</NewLeaseDuration>";

    /// <summary>One SOAP request through reader, handler and writer: the XML written, and the result.</summary>
    private static (string? Xml, SoapResult? Result, SoapRejection Rejection) Soap(OfflineGateway gateway, string body, IPAddress? from = null)
    {
        IPAddress client = from ?? s_client;
        SoapRejection rejection = SoapReader.TryRead(Encoding.UTF8.GetBytes(body), out SoapCall? call);
        if (rejection != SoapRejection.None)
        {
            return (null, null, rejection);
        }

        ServiceDefinition service = ServiceDefinition.All.First(s => UpnpHttpService.Implements(s, call!.ServiceType));
        UpnpStep step = UpnpHandler.Handle(service, call!, client, gateway.Upnp);
        SoapResult result = step.Answer ?? step.Complete([.. step.Commands.Select(c => gateway.Execute(c, client))], gateway.Upnp);
        string xml = result.Error is { } error ? SoapWriter.Fault(error) : SoapWriter.Response(call!.ServiceType, call.ActionName, result.Outputs);
        return (xml, result, rejection);
    }

    private static string? Output(SoapResult? result, string name) =>
        result?.Outputs.FirstOrDefault(o => o.Key == name).Value;

    private static string? SoapGetExternalAddress()
    {
        (string? xml, SoapResult? result, _) = Soap(new OfflineGateway(), Envelope(WanIp1, "GetExternalIPAddress", string.Empty));
        return result?.Error is { } error ? $"fault {(int)error.Code}"
            : Output(result, "NewExternalIPAddress") != "203.0.113.1" ? $"NewExternalIPAddress {Output(result, "NewExternalIPAddress")}"
            : xml is null || !xml.Contains("<u:GetExternalIPAddressResponse xmlns:u=\"" + WanIp1 + "\">", StringComparison.Ordinal) ? "no GetExternalIPAddressResponse element"
            : null;
    }

    private static string? SoapAddThenGet()
    {
        var gateway = new OfflineGateway();
        (_, SoapResult? added, _) = Soap(gateway, Envelope(WanIp2, "AddPortMapping", AddPortMapping(8500, "192.168.77.10")));
        if (added?.Error is { } error)
        {
            return $"AddPortMapping: fault {(int)error.Code} {error.Description}";
        }

        (_, SoapResult? entry, _) = Soap(gateway, Envelope(WanIp2, "GetSpecificPortMappingEntry",
            "<NewRemoteHost></NewRemoteHost><NewExternalPort>8500</NewExternalPort><NewProtocol>TCP</NewProtocol>"));
        return entry?.Error is { } fault ? $"GetSpecificPortMappingEntry: fault {(int)fault.Code}"
            : Output(entry, "NewInternalClient") != "192.168.77.10" ? $"NewInternalClient {Output(entry, "NewInternalClient")}"
            : Output(entry, "NewInternalPort") != "8500" ? $"NewInternalPort {Output(entry, "NewInternalPort")}"
            : Output(entry, "NewPortMappingDescription") != "selftest" ? "description not kept"
            : !uint.TryParse(Output(entry, "NewLeaseDuration"), out uint left) || left is 0 or > 3600 ? $"NewLeaseDuration {Output(entry, "NewLeaseDuration")}"
            : null;
    }

    private static string? SoapAddForAnotherHost()
    {
        var gateway = new OfflineGateway();
        (string? xml, SoapResult? result, _) = Soap(gateway, Envelope(WanIp1, "AddPortMapping", AddPortMapping(8501, "192.168.77.20")));
        return result?.Error is not { } error ? "secure mode let a host map a port to another host"
            : (int)error.Code is not (606 or 718) ? $"fault {(int)error.Code}, expected 606 (secure mode)"
            : gateway.Table.Count != 0 ? "a lease was made"
            : xml is null || !xml.Contains("<errorCode>" + (int)error.Code + "</errorCode>", StringComparison.Ordinal) ? "fault body lacks the errorCode"
            : null;
    }

    private static string? SoapDeleteMissing()
    {
        (_, SoapResult? result, _) = Soap(new OfflineGateway(), Envelope(WanIp1, "DeletePortMapping",
            "<NewRemoteHost></NewRemoteHost><NewExternalPort>8502</NewExternalPort><NewProtocol>UDP</NewProtocol>"));
        return result?.Error is not { } error ? "deleting what does not exist succeeded"
            : (int)error.Code != 714 ? $"fault {(int)error.Code}, expected 714 NoSuchEntryInArray"
            : null;
    }

    private static string? SoapInvalidArgs()
    {
        (_, SoapResult? result, _) = Soap(new OfflineGateway(), Envelope(WanIp1, "AddPortMapping", AddPortMapping(8503, "192.168.77.10").Replace(">TCP<", ">SCTP<", StringComparison.Ordinal)));
        return result?.Error is not { } error ? "an unknown protocol was accepted"
            : (int)error.Code is not (402 or 705) ? $"fault {(int)error.Code}, expected 402 or 705"
            : null;
    }

    private static string? SoapDoctype()
    {
        string body = "<?xml version=\"1.0\"?><!DOCTYPE lol [<!ENTITY a \"aaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>"
            + Envelope(WanIp1, "GetExternalIPAddress", "&b;")[21..];
        var gateway = new OfflineGateway();
        (_, _, SoapRejection rejection) = Soap(gateway, body);
        return rejection == SoapRejection.None ? "a document with a DTD was read" : null;
    }

    private static string? SoapEscapedOutput()
    {
        var gateway = new OfflineGateway();
        (_, SoapResult? added, _) = Soap(gateway, Envelope(WanIp1, "AddPortMapping", AddPortMapping(8504, "192.168.77.10", "a&lt;b&gt;&amp;")));
        if (added?.Error is { } error)
        {
            return $"AddPortMapping: fault {(int)error.Code}";
        }

        (string? xml, _, _) = Soap(gateway, Envelope(WanIp1, "GetGenericPortMappingEntry", "<NewPortMappingIndex>0</NewPortMappingIndex>"));
        if (xml is null)
        {
            return "no answer";
        }

        try
        {
            var document = new System.Xml.XmlDocument { XmlResolver = null };
            document.LoadXml(xml);
            return document.InnerText.Contains("a<b>&", StringComparison.Ordinal) ? null : "description not round-tripped";
        }
        catch (System.Xml.XmlException e)
        {
            return "answer is not well-formed XML: " + e.Message;
        }
    }
}
