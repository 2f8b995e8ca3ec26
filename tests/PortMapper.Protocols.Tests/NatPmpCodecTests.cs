using System.Net;
using PortMapper.Protocols.NatPmp;

namespace PortMapper.Protocols.Tests;

/// <summary>Golden vectors written by hand from the packet diagrams of RFC 6886 §3.2, §3.3 and §3.5.</summary>
public class NatPmpCodecTests
{
    // Vers 0, OP 2 (TCP), reserved 0, internal 8080, suggested 8080, lifetime 3600.
    private const string MapTcp8080 = "00 02 0000 1f90 1f90 00000e10";

    [Fact]
    public void Decode_ExternalAddressRequest_IsOpcodeZero()
    {
        NatPmpDecodeResult r = NatPmpCodec.Decode(Hex.Bytes("00 00"));
        Assert.True(r.IsValid);
        Assert.Equal((byte)NatPmpOpcode.ExternalAddress, r.Request.Opcode);
    }

    [Fact]
    public void Decode_MapTcpRequest_ReadsBigEndianFields()
    {
        NatPmpDecodeResult r = NatPmpCodec.Decode(Hex.Bytes(MapTcp8080));
        Assert.True(r.IsValid);
        Assert.Equal(new NatPmpRequest(0, 2, 8080, 8080, 3600), r.Request);
    }

    [Fact]
    public void Decode_MapUdpWithTrailingBytes_IgnoresThem()
    {
        NatPmpDecodeResult r = NatPmpCodec.Decode(Hex.Bytes("00 01 0000 0035 0000 00000078 deadbeef"));
        Assert.True(r.IsValid);
        Assert.Equal(new NatPmpRequest(0, 1, 53, 0, 120), r.Request);
    }

    [Fact]
    public void Decode_EveryPrefixOfMapRequest_IsTooShort()
    {
        byte[] packet = Hex.Bytes(MapTcp8080);
        for (int length = 0; length < packet.Length; length++)
        {
            NatPmpDecodeResult r = NatPmpCodec.Decode(packet.AsSpan(0, length));
            Assert.Equal(NatPmpDecodeError.TooShort, r.Error);
        }
    }

    [Theory]
    [InlineData("01 00", NatPmpDecodeError.UnsupportedVersion)]
    [InlineData("02 01 0000", NatPmpDecodeError.UnsupportedVersion)] // a PCP header is not NAT-PMP
    [InlineData("00 03", NatPmpDecodeError.UnsupportedOpcode)]
    [InlineData("00 7f", NatPmpDecodeError.UnsupportedOpcode)]
    [InlineData("00 80", NatPmpDecodeError.NotARequest)]
    [InlineData("00 82 0000 00000001 1f90 1f90 00000e10", NatPmpDecodeError.NotARequest)]
    [InlineData("00", NatPmpDecodeError.TooShort)]
    [InlineData("", NatPmpDecodeError.TooShort)]
    public void Decode_InvalidHeader_ReportsReason(string hex, NatPmpDecodeError expected)
    {
        Assert.Equal(expected, NatPmpCodec.Decode(Hex.Bytes(hex)).Error);
    }

    [Fact]
    public void WriteExternalAddressResponse_MatchesRfcLayout()
    {
        byte[] buffer = new byte[16];
        Assert.True(NatPmpCodec.TryWriteExternalAddressResponse(NatPmpResultCode.Success, 0x1234, IPAddress.Parse("203.0.113.1"), buffer, out int n));
        Assert.Equal("00800000" + "00001234" + "cb007101", Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void WriteExternalAddressResponse_UnknownAddress_WritesZeros()
    {
        byte[] buffer = new byte[12];
        Assert.True(NatPmpCodec.TryWriteExternalAddressResponse(NatPmpResultCode.NetworkFailure, 7, null, buffer, out int n));
        Assert.Equal("00800003" + "00000007" + "00000000", Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void WriteMapResponse_MatchesRfcLayout()
    {
        byte[] buffer = new byte[16];
        Assert.True(NatPmpCodec.TryWriteMapResponse(2, NatPmpResultCode.Success, 0x01020304, 8080, 8081, 3600, buffer, out int n));
        Assert.Equal("00820000" + "01020304" + "1f901f91" + "00000e10", Hex.Of(buffer.AsSpan(0, n)));
    }

    [Fact]
    public void WriteErrorResponse_UnsupportedVersion_IsOp128Result1()
    {
        byte[] buffer = new byte[8];
        Assert.True(NatPmpCodec.TryWriteErrorResponse(0, NatPmpResultCode.UnsupportedVersion, 99, buffer, out int n));
        Assert.Equal("00800001" + "00000063", Hex.Of(buffer.AsSpan(0, n)));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(0)]
    public void TryWrite_DestinationTooSmall_WritesNothing(int size)
    {
        byte[] buffer = new byte[size];
        Assert.False(NatPmpCodec.TryWriteExternalAddressResponse(NatPmpResultCode.Success, 1, IPAddress.Loopback, buffer, out int n));
        Assert.Equal(0, n);
        Assert.False(NatPmpCodec.TryWriteMapResponse(1, NatPmpResultCode.Success, 1, 1, 1, 1, buffer, out n));
        Assert.Equal(0, n);
    }
}
