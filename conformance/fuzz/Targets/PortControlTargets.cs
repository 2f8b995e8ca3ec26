using System.Net;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.NatPmp;
using PortMapper.Protocols.Pcp;

namespace PortMapper.Fuzz;

/// <summary>NAT-PMP and PCP datagrams through the same path the daemon's port-control service takes.</summary>
internal static class PortControlTargets
{
    public static void NatPmp(byte[] input)
    {
        var gateway = new FuzzGateway();
        var context = new NatPmpContext(FuzzGateway.External, 1234);
        Span<byte> reply = stackalloc byte[NatPmpHandler.MaxReplyLength];
        NatPmpStep step = NatPmpHandler.Handle(input, FuzzGateway.Client4, context, reply);
        int length = step.Action switch
        {
            NatPmpAction.Drop => 0,
            NatPmpAction.Reply => step.ReplyLength,
            _ => NatPmpHandler.Complete(step.Request, gateway.Execute(step.Command, FuzzGateway.Client4), context, reply),
        };

        if (step.Action == NatPmpAction.Drop)
        {
            return;
        }

        // RFC 6886: answers are 8 (error to an unknown version/opcode), 12 or 16 octets, version 0, opcode + 128.
        InvariantException.Check(length is 8 or 12 or 16, $"NAT-PMP answer of {length} octets");
        InvariantException.Check(reply[0] == 0 && reply[1] >= 128, "NAT-PMP answer header");
        InvariantException.Check(input.Length < 2 || input[0] != 0 || reply[1] == input[1] + 128 || input[1] >= 128, "NAT-PMP answer opcode");
    }

    public static void Pcp(byte[] input)
    {
        var gateway = new FuzzGateway();
        foreach (IPAddress client in (ReadOnlySpan<IPAddress>)[FuzzGateway.Client4, FuzzGateway.Client6])
        {
            var context = new PcpContext(FuzzGateway.External, 1234, false, 4, a => a.ToString().StartsWith("192.168.77.", StringComparison.Ordinal));
            Span<byte> reply = new byte[PcpHandler.MaxReplyLength];
            PcpStep step = PcpHandler.Handle(input, client, context, reply);
            int length = step.Action switch
            {
                PcpAction.Drop => 0,
                PcpAction.Reply => step.ReplyLength,
                _ => PcpHandler.Complete(step.Request!, gateway.Execute(step.Command, client), context, reply),
            };

            if (step.Action == PcpAction.Drop)
            {
                continue;
            }

            // RFC 6887 §7, §8: a multiple of 4 octets, at most 1100, never more than the request (no amplification),
            // version echoed where supported, the R bit set, the opcode echoed.
            InvariantException.Check(length >= PcpCodec.HeaderLength && length <= PcpCodec.MaxMessageLength && length % 4 == 0, $"PCP answer of {length} octets");
            InvariantException.Check(length <= Math.Max(input.Length, PcpCodec.HeaderLength), $"PCP answer of {length} octets to a request of {input.Length}");
            InvariantException.Check((reply[1] & 0x80) != 0 && (reply[1] & 0x7F) == (input[1] & 0x7F), "PCP answer opcode");
        }
    }
}
