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

    private static readonly byte[] s_upstreamNonce = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    /// <summary>
    /// What a gateway behind another NAT reads from the WAN side: the upstream server's PCP and NAT-PMP answers and
    /// announcements, each read as every request would (the fuzzer's own nonce too, so MAP data is reached).
    /// </summary>
    public static void Upstream(byte[] input)
    {
        if (PcpClientCodec.TryReadHeader(input, out _, out _, out _, out uint epoch))
        {
            InvariantException.Check(input.Length >= PcpCodec.HeaderLength && input.Length % 4 == 0, "PCP header read from a short or unaligned datagram");
            _ = PortMapper.Gateway.Upstream.UpstreamService.EpochLost(epoch, DateTimeOffset.UnixEpoch, epoch ^ 0x5555u, DateTimeOffset.UnixEpoch.AddSeconds(epoch & 0xFFFF));
        }

        _ = PcpClientCodec.IsNatPmpOnly(input);
        ReadOnlySpan<byte> ownNonce = input.Length >= PcpCodec.HeaderLength + PcpCodec.NonceLength ? input.AsSpan(PcpCodec.HeaderLength, PcpCodec.NonceLength) : s_upstreamNonce;
        foreach (byte protocol in (ReadOnlySpan<byte>)[6, 17])
        {
            foreach (byte[] nonce in (ReadOnlySpan<byte[]>)[s_upstreamNonce, ownNonce.ToArray()])
            {
                if (PcpClientCodec.TryReadMapResponse(input, nonce, protocol, 40000, out PcpMapAnswer map))
                {
                    InvariantException.Check(map.ExternalAddress is not null, "PCP answer without an address");
                    InvariantException.Check(input.Length >= PcpCodec.HeaderLength + PcpCodec.MapDataLength || map.Result != PcpResultCode.Success,
                        "a short PCP answer read as a success");
                }
            }

            if (NatPmpClientCodec.TryReadMapResponse(input, protocol == 6, out NatPmpMapAnswer natPmp))
            {
                InvariantException.Check(input.Length >= NatPmpCodec.MapResponseLength || natPmp.Result != NatPmpResultCode.Success, "a short NAT-PMP answer read as a success");
            }
        }

        if (NatPmpClientCodec.TryReadExternalAddressResponse(input, out NatPmpResultCode result, out _, out System.Net.IPAddress? address))
        {
            InvariantException.Check(result != NatPmpResultCode.Success || address is not null, "a NAT-PMP success without an address");
        }
    }

    private static readonly IPAddress s_dhcpWan = IPAddress.Parse("100.64.0.54");

    /// <summary>
    /// What the ISP's DHCP server sends (RFC 7291 options 158 and 86), read as the gateway reads the WAN client's lease:
    /// the bytes as dhcpcd's stored DHCPv4 answer (given a BOOTP header for the WAN address when they lack one), as a
    /// DHCPv6 answer, as the two option values, and as dhclient's lease file text.
    /// </summary>
    public static void Dhcp(byte[] input)
    {
        byte[] v4 = input;
        if (!PortMapper.Gateway.Upstream.DhcpPcpServers.IsDhcpV4Message(input))
        {
            v4 = new byte[240 + input.Length];
            v4[0] = 2;
            s_dhcpWan.GetAddressBytes().CopyTo(v4, 16);
            ((byte[])[99, 130, 83, 99]).CopyTo(v4, 236);
            input.CopyTo(v4, 240);
        }

        CheckServers(PortMapper.Gateway.Upstream.DhcpPcpServers.FromDhcpV4Message(v4, s_dhcpWan), v4.Length);
        CheckServers(PortMapper.Gateway.Upstream.DhcpPcpServers.FromDhcpV6Message(input), input.Length);
        CheckServers(PortMapper.Gateway.Upstream.DhcpPcpServers.ParseV4Option(input), input.Length);
        CheckServers(PortMapper.Gateway.Upstream.DhcpPcpServers.ParseV6Option(input), input.Length);
        string text = System.Text.Encoding.UTF8.GetString(input);
        CheckServers(PortMapper.Gateway.Upstream.DhcpPcpServers.FromDhclientLeases(text, "wan0", s_dhcpWan), input.Length);
        _ = PortMapper.Gateway.Upstream.DhcpPcpServers.DhclientValue(text);
    }

    private static void CheckServers(IReadOnlyList<IPAddress> servers, int inputLength)
    {
        InvariantException.Check(servers.Count <= inputLength / 4, "more servers than the input holds addresses");
        foreach (IPAddress server in servers)
        {
            byte[] b = server.GetAddressBytes();
            InvariantException.Check(server.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && b[0] is not (0 or 127) && b[0] < 224,
                "a server address that cannot be one: " + server);
        }

        InvariantException.Check(servers.Distinct().Count() == servers.Count, "a server named twice");
    }
}
