using System.Net;
using System.Text;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.NatPmp;
using PortMapper.Protocols.Pcp;
using static PortMapper.Protocols.Tests.PcpMessages;

namespace PortMapper.Protocols.Tests;

/// <summary>The client half of PCP and NAT-PMP a gateway uses toward its upstream, checked against our own server half.</summary>
public class UpstreamClientCodecTests
{
    private static readonly IPAddress s_wan = IPAddress.Parse("100.64.0.2");
    private static readonly IPAddress s_public = IPAddress.Parse("203.0.113.1");
    private static readonly byte[] s_nonce = Hex.Bytes(Nonce);

    private static PcpContext ServerContext() => new(s_public, 77, false, 4, _ => false);

    [Fact]
    public void PcpMapRequest_ReadByTheServerAsWritten()
    {
        byte[] request = new byte[PcpClientCodec.MapRequestLength(Encoding.UTF8.GetByteCount("game ü"))];
        int n = PcpClientCodec.WriteMapRequest(request, s_wan, s_nonce, 17, 40000, 40000, IPAddress.Any, 1800, "game ü");
        Assert.Equal(request.Length, n);
        PcpDecodeResult decoded = PcpCodec.Decode(request, s_wan);
        PcpRequest r = decoded.Request!;
        Assert.Equal(PcpResultCode.Success, decoded.Error);
        Assert.Equal((PcpOpcode.Map, 1800u, (byte)17, (ushort)40000, (ushort)40000), (r.Opcode, r.RequestedLifetime, r.Protocol, r.InternalPort, r.SuggestedExternalPort));
        Assert.Equal(s_wan, r.ClientAddress);
        Assert.Equal(s_nonce, r.Nonce);
        Assert.Equal("game ü", r.Description);
    }

    [Fact]
    public void PcpMapRequest_GoldenVector()
    {
        // RFC 6887 §7.1 and §11.1: ver 2, MAP, lifetime 7200, client ::ffff:100.64.0.2, nonce, UDP, port 40000 -> 40000,
        // no address preference (::ffff:0.0.0.0), then DESCRIPTION "ab" (RFC 7220: code 128, length 2, padded).
        byte[] request = new byte[PcpClientCodec.MapRequestLength(2)];
        int n = PcpClientCodec.WriteMapRequest(request, s_wan, s_nonce, 17, 40000, 40000, IPAddress.Any, 7200, "ab");
        Assert.Equal(
            "02010000" + "00001c20" + "00000000000000000000ffff64400002" +
            Nonce + "11000000" + "9c409c40" + "00000000000000000000ffff00000000" +
            "80000002" + "61620000",
            Hex.Of(request.AsSpan(0, n)));
    }

    [Fact]
    public void NatPmpRequests_GoldenVectors()
    {
        // RFC 6886 §3.3: vers 0, op 2 (TCP), reserved, internal port 40000, suggested 40000, lifetime 3600; §3.2: 00 00.
        byte[] map = new byte[NatPmpCodec.MapRequestLength];
        NatPmpClientCodec.WriteMapRequest(map, tcp: true, 40000, 40000, 3600);
        Assert.Equal("0002" + "0000" + "9c40" + "9c40" + "00000e10", Hex.Of(map));
        byte[] external = new byte[2];
        NatPmpClientCodec.WriteExternalAddressRequest(external);
        Assert.Equal("0000", Hex.Of(external));
    }

    [Fact]
    public void PcpMapAnswer_FromTheServer_ReadWithItsPortAddressLifetimeAndEpoch()
    {
        byte[] request = new byte[PcpClientCodec.MapRequestLength(0)];
        PcpClientCodec.WriteMapRequest(request, s_wan, s_nonce, 6, 40000, 40000, IPAddress.Any, 1800);
        PcpStep step = PcpHandler.Handle(request, s_wan, ServerContext(), new byte[PcpHandler.MaxReplyLength]);
        byte[] reply = new byte[PcpHandler.MaxReplyLength];
        int length = PcpHandler.Complete(step.Request!, new MappingOutcome(MappingStatus.Granted, 40001, 1200), ServerContext(), reply);

        Assert.True(PcpClientCodec.TryReadMapResponse(reply.AsSpan(0, length), s_nonce, 6, 40000, out PcpMapAnswer answer));
        Assert.Equal(new PcpMapAnswer(PcpResultCode.Success, 1200, 77, 40001, s_public), answer);

        // Not an answer to this request: another nonce, protocol or internal port.
        byte[] otherNonce = (byte[])s_nonce.Clone();
        otherNonce[0] ^= 1;
        Assert.False(PcpClientCodec.TryReadMapResponse(reply.AsSpan(0, length), otherNonce, 6, 40000, out _));
        Assert.False(PcpClientCodec.TryReadMapResponse(reply.AsSpan(0, length), s_nonce, 17, 40000, out _));
        Assert.False(PcpClientCodec.TryReadMapResponse(reply.AsSpan(0, length), s_nonce, 6, 40002, out _));
    }

    [Fact]
    public void PcpRefusal_ReadWithItsResult()
    {
        byte[] request = new byte[PcpClientCodec.MapRequestLength(0)];
        PcpClientCodec.WriteMapRequest(request, s_wan, s_nonce, 6, 40000, 40000, IPAddress.Any, 1800);
        PcpStep step = PcpHandler.Handle(request, s_wan, ServerContext(), new byte[PcpHandler.MaxReplyLength]);
        byte[] reply = new byte[PcpHandler.MaxReplyLength];
        int length = PcpHandler.Complete(step.Request!, MappingOutcome.Denied(MappingStatus.QuotaExceeded), ServerContext(), reply);
        Assert.True(PcpClientCodec.TryReadMapResponse(reply.AsSpan(0, length), s_nonce, 6, 40000, out PcpMapAnswer answer));
        Assert.Equal(PcpResultCode.UserExceededQuota, answer.Result);
    }

    [Fact]
    public void PcpReader_RefusesRequestsAndEveryTruncation()
    {
        byte[] request = new byte[PcpClientCodec.MapRequestLength(0)];
        PcpClientCodec.WriteMapRequest(request, s_wan, s_nonce, 6, 40000, 40000, IPAddress.Any, 1800);
        Assert.False(PcpClientCodec.TryReadMapResponse(request, s_nonce, 6, 40000, out _)); // a request, not a response

        PcpStep step = PcpHandler.Handle(request, s_wan, ServerContext(), new byte[PcpHandler.MaxReplyLength]);
        byte[] reply = new byte[PcpHandler.MaxReplyLength];
        int length = PcpHandler.Complete(step.Request!, new MappingOutcome(MappingStatus.Granted, 40000, 1200), ServerContext(), reply);
        for (int n = 0; n < length; n++)
        {
            Assert.False(PcpClientCodec.TryReadMapResponse(reply.AsSpan(0, n), s_nonce, 6, 40000, out _), $"prefix of {n} octets");
        }

        reply[0] = 3; // another version
        Assert.False(PcpClientCodec.TryReadMapResponse(reply.AsSpan(0, length), s_nonce, 6, 40000, out _));

        // A NAT-PMP-only server answers version 2 with version 0, result 1.
        Assert.True(PcpClientCodec.IsNatPmpOnly(Hex.Bytes("00 81 0001 00000005")));
        Assert.False(PcpClientCodec.IsNatPmpOnly(Hex.Bytes("00 81 0000 00000005")));
    }

    [Fact]
    public void NatPmpRequests_ReadByTheServerAsWritten()
    {
        byte[] map = new byte[NatPmpCodec.MapRequestLength];
        NatPmpClientCodec.WriteMapRequest(map, tcp: false, 40000, 40000, 600);
        NatPmpDecodeResult decoded = NatPmpCodec.Decode(map);
        Assert.Equal(NatPmpDecodeError.None, decoded.Error);
        Assert.Equal(((byte)NatPmpOpcode.MapUdp, (ushort)40000, (ushort)40000, 600u),
            (decoded.Request.Opcode, decoded.Request.InternalPort, decoded.Request.SuggestedExternalPort, decoded.Request.RequestedLifetimeSeconds));

        byte[] external = new byte[2];
        NatPmpClientCodec.WriteExternalAddressRequest(external);
        Assert.Equal((byte)NatPmpOpcode.ExternalAddress, NatPmpCodec.Decode(external).Request.Opcode);
    }

    [Fact]
    public void NatPmpAnswers_FromTheServer_Read()
    {
        byte[] reply = new byte[NatPmpCodec.MapResponseLength];
        NatPmpCodec.TryWriteMapResponse((byte)NatPmpOpcode.MapTcp, NatPmpResultCode.Success, 99, 40000, 40001, 1200, reply, out int n);
        Assert.True(NatPmpClientCodec.TryReadMapResponse(reply.AsSpan(0, n), tcp: true, out NatPmpMapAnswer answer));
        Assert.Equal(new NatPmpMapAnswer(NatPmpResultCode.Success, 99, 40000, 40001, 1200), answer);
        Assert.False(NatPmpClientCodec.TryReadMapResponse(reply.AsSpan(0, n), tcp: false, out _)); // the other protocol's
        Assert.False(NatPmpClientCodec.TryReadMapResponse(reply.AsSpan(0, n - 1), tcp: true, out _));

        byte[] address = new byte[NatPmpCodec.ExternalAddressResponseLength];
        NatPmpCodec.TryWriteExternalAddressResponse(NatPmpResultCode.Success, 42, s_public, address, out n);
        Assert.True(NatPmpClientCodec.TryReadExternalAddressResponse(address.AsSpan(0, n), out NatPmpResultCode result, out uint epoch, out IPAddress? read));
        Assert.Equal((NatPmpResultCode.Success, 42u, s_public), (result, epoch, read));
        Assert.False(NatPmpClientCodec.TryReadExternalAddressResponse(address.AsSpan(0, 7), out _, out _, out _));

        byte[] error = new byte[NatPmpCodec.ErrorResponseLength];
        NatPmpCodec.TryWriteErrorResponse((byte)NatPmpOpcode.MapTcp, NatPmpResultCode.OutOfResources, 5, error, out n);
        Assert.True(NatPmpClientCodec.TryReadMapResponse(error.AsSpan(0, n), tcp: true, out answer));
        Assert.Equal(NatPmpResultCode.OutOfResources, answer.Result);
    }

    [Fact]
    public void Description_StoredCutAndEchoed_NeverMakingTheAnswerBigger()
    {
        // RFC 7220: kept on the mapping and returned in the response.
        var (step, reply) = HandleAndComplete(Map(600, 6, 8080, 8080, options: Option(128, Encoding.UTF8.GetBytes("Xbox Live"))));
        Assert.Equal("Xbox Live", step.Command.Description);
        Assert.Contains(Hex.Of(Option(128, Encoding.UTF8.GetBytes("Xbox Live"))), Hex.Of(reply), StringComparison.Ordinal);

        // Invalid UTF-8 and control characters: cleaned, and the echo stays within the request's size.
        byte[] hostile = [.. Enumerable.Repeat((byte)0xFF, 200), 0x07, 0x41];
        byte[] request = Map(600, 6, 8080, 8080, options: Option(128, hostile));
        (step, reply) = HandleAndComplete(request);
        Assert.DoesNotContain('\a', step.Command.Description);
        Assert.True(reply.Length <= request.Length, $"{reply.Length} > {request.Length}");

        // Longer than the server keeps: cut to 128 characters.
        (step, _) = HandleAndComplete(Map(600, 6, 8080, 8080, options: Option(128, Encoding.UTF8.GetBytes(new string('d', 400)))));
        Assert.Equal(PcpCodec.MaxDescriptionLength, step.Command.Description.Length);
    }

    private static (PcpStep Step, byte[] Reply) HandleAndComplete(byte[] request)
    {
        IPAddress client = IPAddress.Parse("192.168.77.10");
        var context = new PcpContext(s_public, 1, false, 4, _ => false);
        PcpStep step = PcpHandler.Handle(request, client, context, new byte[PcpHandler.MaxReplyLength]);
        Assert.Equal(PcpAction.Execute, step.Action);
        byte[] reply = new byte[PcpHandler.MaxReplyLength];
        int n = PcpHandler.Complete(step.Request!, new MappingOutcome(MappingStatus.Granted, 8080, 600), context, reply);
        return (step, reply[..n]);
    }
}
