using System.Diagnostics;
using System.Net;
using static PortMapper.Conformance.Tool.CaseContext;

namespace PortMapper.Conformance.Tool;

/// <summary>RFC 6886 (NAT-PMP), section by section.</summary>
internal static class NatPmpSuite
{
    private const string Suite = "natpmp";

    public static IEnumerable<CaseDefinition> Cases() =>
    [
        new("rfc6886-3.2-external-address", Suite, "RFC 6886 §3.2", "opcode 0 is answered from port 5351 with version 0, opcode 128, result 0 and the external IPv4 address", ExternalAddress),
        new("rfc6886-3.2.1-epoch", Suite, "RFC 6886 §3.2.1", "the seconds-since-start-of-epoch field advances with the clock", Epoch),
        new("rfc6886-3.3-map-udp", Suite, "RFC 6886 §3.3", "a UDP mapping is granted: 16-octet answer, opcode 129, internal port echoed, a lifetime", c => Map(c, NatPmpWire.Udp, 0)),
        new("rfc6886-3.3-map-tcp", Suite, "RFC 6886 §3.3", "a TCP mapping is granted: 16-octet answer, opcode 130, internal port echoed, a lifetime", c => Map(c, NatPmpWire.Tcp, 1)),
        new("rfc6886-3.3-renewal-same-port", Suite, "RFC 6886 §3.3", "renewing a mapping (the same request again) keeps its external port", Renewal),
        new("rfc6886-3.3-port-taken-other-port", Suite, "RFC 6886 §3.3", "a suggested external port already mapped to another internal port yields another external port, not a failure", PortTaken),
        new("rfc6886-3.3-two-clients", Suite, "RFC 6886 §3.3", "a second host suggesting a port the first holds gets another port; the first keeps its own", TwoClients),
        new("rfc6886-3.4-delete", Suite, "RFC 6886 §3.4", "deleting a mapping: result 0, the internal port, external port 0 and lifetime 0", Delete),
        new("rfc6886-3.4-delete-unknown", Suite, "RFC 6886 §3.4", "deleting a mapping that does not exist is answered as a success", DeleteUnknown),
        new("rfc6886-3.4-delete-all", Suite, "RFC 6886 §3.4", "internal port 0 and lifetime 0 delete all of the client's mappings of that protocol: result 0", DeleteAll),
        new("rfc6886-3.5-unsupported-version", Suite, "RFC 6886 §3.5", "a request with version 1 gets result 1 (Unsupported Version) in a version-0 answer", UnsupportedVersion),
        new("rfc6886-3.5-unsupported-opcode", Suite, "RFC 6886 §3.5", "an unknown opcode gets result 5 (Unsupported opcode), opcode + 128 echoed", UnsupportedOpcode),
        new("rfc6886-3.5-no-answer-to-answers", Suite, "RFC 6886 §3.5", "a datagram with a response opcode (128 and up) is not answered", NoAnswerToAnswers),
        new("rfc6886-3.2.1-announcements", Suite, "RFC 6886 §3.2.1", "address-change announcements to 224.0.0.1:5350", _ => throw Skip("announcements go out at start-up and when the external address changes, which a LAN client cannot cause; the lab tests of each daemon check them")),
    ];

    private static ushort Port(CaseContext c, int offset) => (ushort)(c.Options.BasePort + offset);

    /// <summary>A map request; a granted mapping is deleted at the end of the run.</summary>
    public static async Task<NatPmpAnswer> MapAsync(CaseContext c, byte opcode, ushort internalPort, ushort suggested, uint lifetime, IPAddress? from = null)
    {
        byte[]? reply = await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, NatPmpWire.MapRequest(opcode, internalPort, suggested, lifetime), from);
        NatPmpAnswer? answer = NatPmpWire.Parse(reply);
        Expect(answer is not null, "an answer to a NAT-PMP map request", "silence");
        if (answer!.Result == 0 && lifetime > 0)
        {
            c.Gateway.OnCleanup($"NAT-PMP {(opcode == NatPmpWire.Udp ? "UDP" : "TCP")} {internalPort}", () => MapAsync(c, opcode, internalPort, 0, 0, from));
        }

        return answer;
    }

    private static async Task ExternalAddress(CaseContext c)
    {
        NatPmpAnswer? answer = NatPmpWire.Parse(await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, NatPmpWire.ExternalAddressRequest()));
        Expect(answer is not null, "an answer from port 5351", "silence");
        Expect(answer!.Length == 12 && answer.Version == 0 && answer.Opcode == 128 && answer.Result == 0, "12 octets, version 0, opcode 128, result 0", answer.ToString());
        Expect(answer.External is { } a && !a.Equals(IPAddress.Any), "a non-zero external address", answer.ToString());
    }

    private static async Task Epoch(CaseContext c)
    {
        NatPmpAnswer? first = NatPmpWire.Parse(await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, NatPmpWire.ExternalAddressRequest()));
        var clock = Stopwatch.StartNew();
        await Task.Delay(2100, c.Cancellation);
        NatPmpAnswer? second = NatPmpWire.Parse(await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, NatPmpWire.ExternalAddressRequest()));
        double elapsed = clock.Elapsed.TotalSeconds;
        Expect(first is not null && second is not null, "two answers", "silence");
        long advanced = (long)second!.Epoch - first!.Epoch;
        // §3.2.1: a client flags a reset when the epoch runs slower than 7/8 of its own clock (less 2 s); so must we.
        Expect(advanced >= 1 && advanced <= elapsed + 2, $"an advance of 1 to {elapsed + 2:0} s over {elapsed:0.0} s", $"{first.Epoch} then {second.Epoch}");
    }

    private static async Task Map(CaseContext c, byte opcode, int offset)
    {
        ushort port = Port(c, offset);
        NatPmpAnswer answer = await MapAsync(c, opcode, port, port, 7200);
        Expect(answer.Length == 16 && answer.Version == 0 && answer.Opcode == 128 + opcode, $"16 octets, version 0, opcode {128 + opcode}", answer.ToString());
        Expect(answer.Result == 0, "result 0 (Success)", answer.ToString());
        Expect(answer.InternalPort == port, $"internal port {port} echoed", answer.ToString());
        Expect(answer.ExternalPort != 0 && answer.Lifetime > 0, "a non-zero external port and lifetime", answer.ToString());
    }

    private static async Task Renewal(CaseContext c)
    {
        ushort port = Port(c, 2);
        NatPmpAnswer first = await MapAsync(c, NatPmpWire.Udp, port, port, 3600);
        NatPmpAnswer again = await MapAsync(c, NatPmpWire.Udp, port, port, 3600);
        Expect(first.Result == 0 && again.Result == 0, "both granted", $"{first}; {again}");
        Expect(again.ExternalPort == first.ExternalPort, $"external port {first.ExternalPort} kept", again.ToString());
    }

    private static async Task PortTaken(CaseContext c)
    {
        ushort a = Port(c, 3);
        ushort b = Port(c, 4);
        NatPmpAnswer first = await MapAsync(c, NatPmpWire.Udp, a, a, 3600);
        Expect(first.Result == 0, "the first mapping granted", first.ToString());
        NatPmpAnswer second = await MapAsync(c, NatPmpWire.Udp, b, first.ExternalPort, 3600);
        // §3.3: the suggested port is a hint; "if it is not available, the NAT gateway SHOULD assign another port".
        Expect(second.Result == 0 && second.ExternalPort != first.ExternalPort && second.InternalPort == b,
            $"success with an external port other than {first.ExternalPort}", second.ToString());
    }

    private static async Task TwoClients(CaseContext c)
    {
        IPAddress other = c.Options.ExtraClients.FirstOrDefault() ?? throw Skip("needs a second address of this host (--also-client)");
        ushort port = Port(c, 5);
        NatPmpAnswer mine = await MapAsync(c, NatPmpWire.Udp, port, port, 3600);
        NatPmpAnswer theirs = await MapAsync(c, NatPmpWire.Udp, port, mine.ExternalPort, 3600, other);
        Expect(mine.Result == 0 && theirs.Result == 0, "both hosts granted a mapping", $"{mine}; {theirs}");
        Expect(theirs.ExternalPort != mine.ExternalPort, $"the second host gets a port other than {mine.ExternalPort}", theirs.ToString());
        NatPmpAnswer renewed = await MapAsync(c, NatPmpWire.Udp, port, port, 3600);
        Expect(renewed.ExternalPort == mine.ExternalPort, $"the first host keeps {mine.ExternalPort}", renewed.ToString());
    }

    private static async Task Delete(CaseContext c)
    {
        ushort port = Port(c, 6);
        NatPmpAnswer made = await MapAsync(c, NatPmpWire.Tcp, port, port, 3600);
        Expect(made.Result == 0, "the mapping to delete granted", made.ToString());
        NatPmpAnswer deleted = await MapAsync(c, NatPmpWire.Tcp, port, 0, 0);
        Expect(deleted.Length == 16 && deleted.Opcode == 130 && deleted.Result == 0, "16 octets, opcode 130, result 0", deleted.ToString());
        Expect(deleted.InternalPort == port && deleted.ExternalPort == 0 && deleted.Lifetime == 0,
            $"internal port {port}, external port 0, lifetime 0", deleted.ToString());
    }

    private static async Task DeleteUnknown(CaseContext c)
    {
        NatPmpAnswer deleted = await MapAsync(c, NatPmpWire.Udp, Port(c, 7), 0, 0);
        Expect(deleted.Result == 0 && deleted.Lifetime == 0, "result 0, lifetime 0", deleted.ToString());
    }

    private static async Task DeleteAll(CaseContext c)
    {
        NatPmpAnswer one = await MapAsync(c, NatPmpWire.Udp, Port(c, 8), Port(c, 8), 3600);
        NatPmpAnswer two = await MapAsync(c, NatPmpWire.Udp, Port(c, 9), Port(c, 9), 3600);
        Expect(one.Result == 0 && two.Result == 0, "two mappings granted", $"{one}; {two}");
        NatPmpAnswer all = await MapAsync(c, NatPmpWire.Udp, 0, 0, 0);
        Expect(all.Length == 16 && all.Result == 0 && all.Lifetime == 0, "result 0, lifetime 0", all.ToString());
    }

    private static async Task UnsupportedVersion(CaseContext c)
    {
        NatPmpAnswer? answer = NatPmpWire.Parse(await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, [1, 0]));
        Expect(answer is not null, "an answer", "silence");
        // §3.5: "If the version in the request is not zero, then the NAT-PMP server MUST return" result 1 (Unsupported
        // Version) in a NAT-PMP answer (version 0). A gateway that also speaks PCP on the same port may answer in PCP's
        // shape instead (RFC 6887 §9: UNSUPP_VERSION, code 1, with the highest version it supports, 2); the result
        // code is in the same octets either way. Silence is neither: miniupnpd 2.3.1 (with PCP on) stays silent.
        Expect(answer!.Version is 0 or 2 && answer.Result == 1,
            "result 1 (Unsupported Version) in a version-0 (or PCP version-2) answer", answer.ToString());
    }

    private static async Task UnsupportedOpcode(CaseContext c)
    {
        NatPmpAnswer? answer = NatPmpWire.Parse(await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, [0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        Expect(answer is not null, "an answer", "silence");
        Expect(answer!.Version == 0 && answer.Opcode == 131 && answer.Result == 5, "version 0, opcode 131, result 5 (Unsupported opcode)", answer.ToString());
    }

    private static async Task NoAnswerToAnswers(CaseContext c)
    {
        byte[] response = [0, 128, 0, 0, 0, 0, 0, 9, 203, 0, 113, 9];
        byte[]? first = await c.Gateway.AnswerBeforeProbeAsync(GatewayProbe.PortControlPort, response, NatPmpWire.ExternalAddressRequest(),
            a => a.Length == 12 && a[1] == 128 && a[2] == 0 && a[3] == 0);
        Expect(first is null, "no answer to a response", () => NatPmpWire.Parse(first)?.ToString() ?? "?");
    }
}
