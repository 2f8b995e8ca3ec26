using System.Buffers.Binary;
using System.Net;
using PortMapper.Conformance.PcpClient;
using static PortMapper.Conformance.Tool.CaseContext;

namespace PortMapper.Conformance.Tool;

/// <summary>RFC 6887 (PCP), section by section, over IPv4 (the PCP client is the conformance suite's own).</summary>
internal static class PcpSuite
{
    private const string Suite = "pcp";

    public static IEnumerable<CaseDefinition> Cases() =>
    [
        new("rfc6887-14.1-announce", Suite, "RFC 6887 §14.1", "ANNOUNCE is answered with SUCCESS in a 24-octet response", Announce),
        new("rfc6887-9-unsupported-version", Suite, "RFC 6887 §9", "a version-3 request gets UNSUPP_VERSION with the highest version the server supports", UnsupportedVersion),
        new("rfc6887-7.2-response-header", Suite, "RFC 6887 §7.2", "a response has version 2, the R bit, the opcode echoed, a length that is a multiple of 4 and the epoch", ResponseHeader),
        new("rfc6887-11.1-map", Suite, "RFC 6887 §11.1, §11.3", "MAP is granted: nonce, protocol and internal port echoed, an external IPv4 address and port, a lifetime", MapGranted),
        new("rfc6887-11.1-map-ipv6", Suite, "RFC 6887 §11.1, §11.3", "MAP over IPv6 (a firewall pinhole: no translation) is granted for the client's own address and port", MapIpv6),
        new("rfc6887-11.3-renewal", Suite, "RFC 6887 §11.3", "the same MAP again (same nonce) keeps the external port", Renewal),
        new("rfc6887-11.3-suggested-port", Suite, "RFC 6887 §11.3", "a free suggested external port is assigned", SuggestedPort),
        new("rfc6887-11.3-nonce-mismatch", Suite, "RFC 6887 §11.3", "a MAP for an existing mapping with another nonce gets NOT_AUTHORIZED", NonceMismatch),
        new("rfc6887-15-delete", Suite, "RFC 6887 §15", "lifetime 0 deletes the mapping: SUCCESS with lifetime 0", Delete),
        new("rfc6887-8.3-address-mismatch", Suite, "RFC 6887 §8.3", "a client address in the header other than the source gets ADDRESS_MISMATCH", AddressMismatch),
        new("rfc6887-7.3-unsupported-opcode", Suite, "RFC 6887 §7.3", "an unknown opcode gets UNSUPP_OPCODE", UnsupportedOpcode),
        new("rfc6887-7.3-unknown-mandatory-option", Suite, "RFC 6887 §7.3", "an unknown option in the mandatory range (0-127) gets UNSUPP_OPTION and no mapping", UnknownMandatoryOption),
        new("rfc6887-7.3-unknown-optional-option", Suite, "RFC 6887 §7.3", "an unknown option in the optional range (128-255) is ignored", UnknownOptionalOption),
        new("rfc6887-8.3-response-ignored", Suite, "RFC 6887 §8.3", "a message with the R bit set (a response) is not answered", ResponseIgnored),
        new("rfc6887-8.3-bad-length", Suite, "RFC 6887 §8.3", "a request whose length is not a multiple of 4 gets MALFORMED_REQUEST or silence, never a mapping", BadLength),
        new("rfc6887-8.3-too-long", Suite, "RFC 6887 §8.3", "a request longer than 1100 octets gets no mapping and no answer over 1100 octets", TooLong),
        new("rfc6887-11.1-protocol-zero-port", Suite, "RFC 6887 §11.1", "protocol 0 (all) with a non-zero internal port gets MALFORMED_REQUEST", ProtocolZeroPort),
        new("rfc6887-13.2-prefer-failure", Suite, "RFC 6887 §13.2", "PREFER_FAILURE for a taken port gets CANNOT_PROVIDE_EXTERNAL, not another port", PreferFailure),
        new("rfc6887-13.3-filter", Suite, "RFC 6887 §13.3", "MAP with a FILTER option is granted and the FILTER is in the response", Filter),
        new("rfc6887-12-peer", Suite, "RFC 6887 §12", "PEER is answered with SUCCESS, the remote peer echoed", Peer),
        new("rfc6887-13.1-third-party", Suite, "RFC 6887 §13.1", "THIRD_PARTY naming another host is refused (NOT_AUTHORIZED or UNSUPP_OPTION) unless allowed", ThirdParty),
    ];

    private static ushort Port(CaseContext c, int offset) => (ushort)(c.Options.BasePort + 40 + offset);

    private static IPEndPoint Server(CaseContext c) => new(c.Gateway.Address, GatewayProbe.PortControlPort);

    /// <summary>One PCP exchange (with the retransmissions of §8.1.1, shortened); null on silence.</summary>
    public static async Task<(PcpAnswer? Answer, byte[]? Raw)> AskAsync(CaseContext c, byte[] request, IPAddress? from = null, GatewayProbe? via = null)
    {
        GatewayProbe gateway = via ?? c.Gateway;
        using var socket = gateway.Udp(from);
        byte[]? raw = await gateway.ExchangeAsync(socket, GatewayProbe.PortControlPort, request);
        return (raw is null ? null : PcpMessage.Parse(raw), raw);
    }

    /// <summary>A MAP; a granted one is deleted (lifetime 0, same nonce) at the end of the run.</summary>
    public static async Task<PcpAnswer> MapAsync(CaseContext c, byte protocol, ushort internalPort, ushort suggested, uint lifetime, byte[] nonce, params byte[][] options)
    {
        (PcpAnswer? answer, _) = await AskAsync(c, PcpMessage.Map(c.Gateway.LocalAddress, protocol, internalPort, suggested, lifetime, nonce, options));
        Expect(answer is not null, "an answer to MAP", "silence");
        if (answer!.Result == PcpAnswer.Success && lifetime > 0)
        {
            c.Gateway.OnCleanup($"PCP {protocol} {internalPort}", async () => await AskAsync(c, PcpMessage.Map(c.Gateway.LocalAddress, protocol, internalPort, 0, 0, nonce)));
        }

        return answer;
    }

    private static string Show(PcpAnswer? a) => a is null ? "silence"
        : $"{a.Length} octets, version {a.Version}, opcode {a.Opcode}, result {a.Result}, lifetime {a.Lifetime}, external {a.ExternalAddress}:{a.ExternalPort}";

    private static async Task Announce(CaseContext c)
    {
        (PcpAnswer? answer, _) = await AskAsync(c, PcpMessage.Announce(c.Gateway.LocalAddress));
        Expect(answer is { Length: 24, Version: 2, Opcode: 0, Result: PcpAnswer.Success }, "24 octets, version 2, opcode 0, SUCCESS", Show(answer));
    }

    private static async Task UnsupportedVersion(CaseContext c)
    {
        byte[] request = PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, Port(c, 0), 0, 600, PcpMessage.NewNonce());
        request[0] = 3;
        (PcpAnswer? answer, byte[]? raw) = await AskAsync(c, request);
        // §9: "the server MUST respond with UNSUPP_VERSION, with the version field set to the highest version it supports".
        Expect(raw is { Length: >= 4 } && raw[3] == 1 && raw[0] == 2, "UNSUPP_VERSION (1) in a version-2 response", () => raw is null ? "silence" : $"version {raw[0]}, result {(raw.Length > 3 ? raw[3] : -1)}");
        _ = answer;
    }

    private static async Task ResponseHeader(CaseContext c)
    {
        (_, byte[]? raw) = await AskAsync(c, PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, Port(c, 1), 0, 0, PcpMessage.NewNonce()));
        Expect(raw is not null, "a response", "silence");
        Expect(raw!.Length >= 24 && raw.Length % 4 == 0 && raw.Length <= 1100, "24 to 1100 octets, a multiple of 4", $"{raw.Length} octets");
        Expect(raw[0] == 2 && raw[1] == 0x81, "version 2, R bit and opcode 1", $"version {raw[0]}, opcode byte 0x{raw[1]:x2}");
        Expect(raw[2] == 0, "reserved octet 0", raw[2].ToString(System.Globalization.CultureInfo.InvariantCulture));
        Expect(raw.AsSpan(12, 12).IndexOfAnyExcept((byte)0) < 0, "96 reserved bits of zero after the epoch", "non-zero");
    }

    private static async Task MapGranted(CaseContext c)
    {
        byte[] nonce = PcpMessage.NewNonce();
        ushort port = Port(c, 2);
        PcpAnswer answer = await MapAsync(c, PcpMessage.Tcp, port, port, 3600, nonce);
        Expect(answer.Result == PcpAnswer.Success, "SUCCESS", Show(answer));
        Expect(answer.Length == 60 && answer.Opcode == 1, "a 60-octet MAP response", Show(answer));
        Expect(answer.Nonce.AsSpan().SequenceEqual(nonce), "the nonce echoed", "another nonce");
        Expect(answer.Protocol == PcpMessage.Tcp && answer.InternalPort == port, $"protocol 6 and internal port {port} echoed", $"{answer.Protocol}/{answer.InternalPort}");
        Expect(answer.ExternalPort != 0 && answer.ExternalAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !answer.ExternalAddress.Equals(IPAddress.Any),
            "an external IPv4 address (IPv4-mapped on the wire) and port", Show(answer));
        Expect(answer.Lifetime is > 0 and <= 3600, "a lifetime of 1 to 3600 s", Show(answer));
    }

    /// <summary>A MAP over IPv6 from this host's address; a granted one is deleted at the end of the run.</summary>
    public static async Task<PcpAnswer> MapIpv6Async(CaseContext c, byte protocol, ushort port, uint lifetime)
    {
        GatewayProbe gateway = c.Gateway6;
        byte[] nonce = PcpMessage.NewNonce();
        (PcpAnswer? answer, _) = await AskAsync(c, PcpMessage.Map(gateway.LocalAddress, protocol, port, port, lifetime, nonce), via: gateway);
        Expect(answer is not null, "an answer to MAP over IPv6", "silence");
        if (answer!.Result == PcpAnswer.Success)
        {
            c.Gateway6.OnCleanup($"PCP IPv6 {protocol} {port}", async () => await AskAsync(c, PcpMessage.Map(gateway.LocalAddress, protocol, port, 0, 0, nonce), via: gateway));
        }

        return answer;
    }

    private static async Task MapIpv6(CaseContext c)
    {
        ushort port = Port(c, 18);
        PcpAnswer answer = await MapIpv6Async(c, PcpMessage.Udp, port, 600);
        Expect(answer.Result == PcpAnswer.Success, "SUCCESS", Show(answer));
        // §11.3 for a firewall (no translation): the assigned external address and port are the internal ones.
        Expect(answer.ExternalAddress.Equals(c.Gateway6.LocalAddress) && answer.ExternalPort == port,
            $"external {c.Gateway6.LocalAddress} port {port} (the client's own)", Show(answer));
        Expect(answer.Lifetime is > 0 and <= 600, "a lifetime of 1 to 600 s", Show(answer));
    }

    private static async Task Renewal(CaseContext c)
    {
        byte[] nonce = PcpMessage.NewNonce();
        ushort port = Port(c, 3);
        PcpAnswer first = await MapAsync(c, PcpMessage.Udp, port, 0, 600, nonce);
        PcpAnswer again = await MapAsync(c, PcpMessage.Udp, port, 0, 600, nonce);
        Expect(first.Result == 0 && again.Result == 0 && again.ExternalPort == first.ExternalPort, $"SUCCESS twice with port {first.ExternalPort}", $"{Show(first)}; {Show(again)}");
    }

    private static async Task SuggestedPort(CaseContext c)
    {
        ushort port = Port(c, 4);
        PcpAnswer answer = await MapAsync(c, PcpMessage.Udp, port, (ushort)(port + 1000), 600, PcpMessage.NewNonce());
        // §11.3: "If the suggested external port is available, the PCP server SHOULD use it" (a SHOULD: a failure here
        // means a gateway that ignores the hint, as port-preserving clients notice).
        Expect(answer.Result == 0 && answer.ExternalPort == port + 1000, $"SUCCESS with external port {port + 1000}", Show(answer));
    }

    private static async Task NonceMismatch(CaseContext c)
    {
        ushort port = Port(c, 5);
        PcpAnswer first = await MapAsync(c, PcpMessage.Udp, port, 0, 600, PcpMessage.NewNonce());
        Expect(first.Result == 0, "the first MAP granted", Show(first));
        PcpAnswer other = await MapAsync(c, PcpMessage.Udp, port, 0, 600, PcpMessage.NewNonce());
        // §11.3 (processing a MAP request): a request for an existing mapping must carry that mapping's nonce, else
        // the server answers NOT_AUTHORIZED; without it, any host that can spoof the client's address could renew,
        // change or delete its mappings. (A 2013 draft proposed dropping the check; it expired, RFC 6887 stands.)
        // miniupnpd 2.3.1 grants the request instead.
        Expect(other.Result == PcpAnswer.NotAuthorized, "NOT_AUTHORIZED (2)", Show(other));
    }

    private static async Task Delete(CaseContext c)
    {
        byte[] nonce = PcpMessage.NewNonce();
        ushort port = Port(c, 6);
        PcpAnswer made = await MapAsync(c, PcpMessage.Udp, port, 0, 600, nonce);
        Expect(made.Result == 0, "the mapping granted", Show(made));
        (PcpAnswer? deleted, _) = await AskAsync(c, PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, port, 0, 0, nonce));
        Expect(deleted is { Result: PcpAnswer.Success, Lifetime: 0 }, "SUCCESS with lifetime 0", Show(deleted));
    }

    private static async Task AddressMismatch(CaseContext c)
    {
        IPAddress lie = IPAddress.Parse("192.0.2.77");
        (PcpAnswer? answer, _) = await AskAsync(c, PcpMessage.Map(lie, PcpMessage.Udp, Port(c, 7), 0, 600, PcpMessage.NewNonce()));
        Expect(answer?.Result == PcpAnswer.AddressMismatch, "ADDRESS_MISMATCH (12)", Show(answer));
    }

    private static async Task UnsupportedOpcode(CaseContext c)
    {
        byte[] request = PcpMessage.Announce(c.Gateway.LocalAddress);
        request[1] = 0x55;
        (_, byte[]? raw) = await AskAsync(c, request);
        Expect(raw is { Length: >= 24 } && raw[3] == 4 && raw[1] == 0xD5, "UNSUPP_OPCODE (4), opcode 0x55 with the R bit", () => raw is null ? "silence" : $"opcode byte 0x{raw[1]:x2}, result {raw[3]}");
    }

    private static async Task UnknownMandatoryOption(CaseContext c)
    {
        ushort port = Port(c, 8);
        PcpAnswer answer = await MapAsync(c, PcpMessage.Udp, port, 0, 600, PcpMessage.NewNonce(), PcpMessage.Option(0x7E, [1, 2, 3, 4]));
        Expect(answer.Result == PcpAnswer.UnsupportedOption, "UNSUPP_OPTION (5)", Show(answer));
    }

    private static async Task UnknownOptionalOption(CaseContext c)
    {
        ushort port = Port(c, 9);
        PcpAnswer answer = await MapAsync(c, PcpMessage.Udp, port, 0, 600, PcpMessage.NewNonce(), PcpMessage.Option(0xFE, [1, 2, 3, 4]));
        Expect(answer.Result == PcpAnswer.Success, "SUCCESS (the option ignored)", Show(answer));
    }

    private static async Task ResponseIgnored(CaseContext c)
    {
        byte[] response = PcpMessage.Announce(c.Gateway.LocalAddress);
        response[1] = 0x80;
        byte[]? first = await c.Gateway.AnswerBeforeProbeAsync(GatewayProbe.PortControlPort, response,
            PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, Port(c, 10), 0, 0, PcpMessage.NewNonce()), a => a.Length >= 2 && a[1] == 0x81);
        Expect(first is null, "no answer to a response", () => $"{first!.Length} octets, opcode byte 0x{first[1]:x2}");
    }

    private static async Task BadLength(CaseContext c)
    {
        byte[] request = [.. PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, Port(c, 11), 0, 600, PcpMessage.NewNonce()), 0, 0];
        byte[]? first = await c.Gateway.AnswerBeforeProbeAsync(GatewayProbe.PortControlPort, request,
            PcpMessage.Announce(c.Gateway.LocalAddress), a => a.Length == 24 && a[1] == 0x80);
        Expect(first is null || (first.Length >= 4 && first[3] == PcpAnswer.MalformedRequest), "MALFORMED_REQUEST (3) or silence",
            () => $"{first!.Length} octets, result {first[3]}");
    }

    private static async Task TooLong(CaseContext c)
    {
        byte[] request = [.. PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, Port(c, 12), 0, 600, PcpMessage.NewNonce()), .. new byte[1104 - 60]];
        byte[]? first = await c.Gateway.AnswerBeforeProbeAsync(GatewayProbe.PortControlPort, request,
            PcpMessage.Announce(c.Gateway.LocalAddress), a => a.Length == 24 && a[1] == 0x80);
        Expect(first is null || (first.Length <= 1100 && first[3] != PcpAnswer.Success), "an error of at most 1100 octets, or silence",
            () => $"{first!.Length} octets, result {first[3]}");
    }

    private static async Task ProtocolZeroPort(CaseContext c)
    {
        (PcpAnswer? answer, _) = await AskAsync(c, PcpMessage.Map(c.Gateway.LocalAddress, 0, Port(c, 13), 0, 600, PcpMessage.NewNonce()));
        // §11.1: "If the Protocol field is zero, the Internal Port field MUST be zero" - else MALFORMED_REQUEST (§11.3).
        Expect(answer?.Result == PcpAnswer.MalformedRequest, "MALFORMED_REQUEST (3)", Show(answer));
    }

    private static async Task PreferFailure(CaseContext c)
    {
        ushort a = Port(c, 14);
        PcpAnswer held = await MapAsync(c, PcpMessage.Tcp, a, a, 600, PcpMessage.NewNonce());
        Expect(held.Result == 0, "the first mapping granted", Show(held));
        // §13.2: with PREFER_FAILURE the server "MUST NOT create an alternative mapping" when the suggested external
        // port cannot be had, and answers CANNOT_PROVIDE_EXTERNAL; miniupnpd 2.3.1 grants another port.
        PcpAnswer refused = await MapAsync(c, PcpMessage.Tcp, (ushort)(a + 1), held.ExternalPort, 600, PcpMessage.NewNonce(), PcpMessage.PreferFailure());
        Expect(refused.Result == PcpAnswer.CannotProvideExternal, "CANNOT_PROVIDE_EXTERNAL (11)", Show(refused));
    }

    private static async Task Filter(CaseContext c)
    {
        ushort port = Port(c, 15);
        byte[] request = PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, port, 0, 600, PcpMessage.NewNonce(), PcpMessage.Filter(IPAddress.Parse("198.51.100.0"), 24, 0));
        (PcpAnswer? answer, byte[]? raw) = await AskAsync(c, request);
        if (answer?.Result == PcpAnswer.Success)
        {
            c.Gateway.OnCleanup($"PCP FILTER {port}", async () => await AskAsync(c, PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, port, 0, 0, request[24..36])));
        }

        Expect(answer?.Result == PcpAnswer.Success, "SUCCESS", Show(answer));
        // §13.3: "the PCP server MUST include the FILTER option(s) in its response".
        Expect(raw!.Length >= 84 && raw[60] == 3, "a FILTER option (code 3) after the MAP data", $"{raw.Length} octets");
    }

    private static async Task Peer(CaseContext c)
    {
        ushort port = Port(c, 16);
        var remote = new IPEndPoint(IPAddress.Parse("198.51.100.9"), 4433);
        byte[] nonce = PcpMessage.NewNonce();
        (_, byte[]? raw) = await AskAsync(c, PcpMessage.Peer(c.Gateway.LocalAddress, PcpMessage.Udp, port, 0, 120, nonce, remote));
        Expect(raw is not null, "a response", "silence");
        if (raw![3] == 0)
        {
            c.Gateway.OnCleanup($"PCP PEER {port}", async () => await AskAsync(c, PcpMessage.Peer(c.Gateway.LocalAddress, PcpMessage.Udp, port, 0, 0, nonce, remote)));
        }

        Expect(raw.Length == 80 && raw[1] == 0x82 && raw[3] == 0, "an 80-octet PEER response with SUCCESS", $"{raw.Length} octets, opcode byte 0x{raw[1]:x2}, result {raw[3]}");
        Expect(BinaryPrimitives.ReadUInt16BigEndian(raw.AsSpan(60)) == 4433 && new IPAddress(raw.AsSpan(64, 16)).Equals(remote.Address.MapToIPv6()),
            "the remote peer 198.51.100.9:4433 echoed", "another peer");
    }

    private static async Task ThirdParty(CaseContext c)
    {
        byte[] bytes = c.Gateway.LocalAddress.GetAddressBytes();
        bytes[^1] = (byte)(bytes[^1] == 200 ? 201 : 200);
        byte[] nonce = PcpMessage.NewNonce();
        byte[] thirdParty = PcpMessage.ThirdParty(new IPAddress(bytes));
        (PcpAnswer? answer, _) = await AskAsync(c, PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, Port(c, 17), 0, 600, nonce, thirdParty));
        if (answer?.Result == PcpAnswer.Success)
        {
            c.Gateway.OnCleanup("PCP THIRD_PARTY", async () => await AskAsync(c, PcpMessage.Map(c.Gateway.LocalAddress, PcpMessage.Udp, Port(c, 17), 0, 0, nonce, thirdParty)));
            throw Skip("the gateway allows THIRD_PARTY (a configuration choice, §13.1); not checked further");
        }

        Expect(answer?.Result is PcpAnswer.NotAuthorized or PcpAnswer.UnsupportedOption, "NOT_AUTHORIZED (2) or UNSUPP_OPTION (5)", Show(answer));
    }
}
