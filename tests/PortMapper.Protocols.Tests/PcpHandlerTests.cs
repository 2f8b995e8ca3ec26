using System.Buffers.Binary;
using System.Net;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Pcp;
using static PortMapper.Protocols.Tests.PcpMessages;

namespace PortMapper.Protocols.Tests;

public class PcpHandlerTests
{
    private static readonly IPAddress s_client = IPAddress.Parse("192.168.77.10");
    private static readonly IPAddress s_client6 = IPAddress.Parse("2001:db8:77::10");

    private static PcpContext Context(bool allowThirdParty = false, IPAddress? external = null, bool online = true) =>
        new(online ? external ?? IPAddress.Parse("203.0.113.1") : null, 500, allowThirdParty, 4,
            a => a.ToString().StartsWith("192.168.77.", StringComparison.Ordinal) && !a.Equals(IPAddress.Parse("192.168.77.1")));

    private static (PcpStep Step, byte[] Reply) Handle(byte[] datagram, PcpContext? context = null, IPAddress? source = null)
    {
        byte[] reply = new byte[PcpHandler.MaxReplyLength];
        PcpStep step = PcpHandler.Handle(datagram, source ?? s_client, context ?? Context(), reply);
        return (step, reply[..step.ReplyLength]);
    }

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];

    private static PcpResultCode Result(byte[] reply) => (PcpResultCode)reply[3];

    private static uint Lifetime(byte[] reply) => BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4));

    [Fact]
    public void Map_GoldenRequest_BecomesMapCommand()
    {
        // Ver 2, MAP, lifetime 3600, client ::ffff:192.168.77.10, nonce, TCP, 8080 -> suggested 8080, no address preference.
        byte[] request = Hex.Bytes(
            "02 01 0000 00000e10 00000000000000000000ffffc0a84d0a" +
            Nonce + "06 000000 1f90 1f90 00000000000000000000000000000000");
        var (step, _) = Handle(request);
        Assert.Equal(PcpAction.Execute, step.Action);
        MappingCommand c = step.Command;
        Assert.Equal((MappingCommandKind.Map, MappingProtocol.Tcp, MappingOrigin.Pcp), (c.Kind, c.Protocol, c.Origin));
        Assert.Equal((s_client, s_client, (ushort)8080, (ushort)8080, 3600u), (c.Client, c.InternalAddress, c.InternalPort, c.SuggestedExternalPort, c.RequestedLifetimeSeconds));
        Assert.Equal(Hex.Bytes(Nonce), c.Nonce);
    }

    [Fact]
    public void Complete_Granted_GoldenResponse()
    {
        var (step, _) = Handle(Map(3600, 6, 8080, 8080));
        byte[] reply = new byte[1100];
        int n = PcpHandler.Complete(step.Request!, new MappingOutcome(MappingStatus.Granted, 8081, 3600), Context(), reply);
        Assert.Equal(
            "02810000" + "00000e10" + "000001f4" + "000000000000000000000000" +
            Nonce + "06000000" + "1f901f91" + "00000000000000000000ffffcb007101",
            Hex.Of(reply.AsSpan(0, n)));
    }

    [Fact]
    public void Announce_AnsweredWithSuccessAndEpoch()
    {
        var (step, reply) = Handle(Header(2, 0, 0, "192.168.77.10"));
        Assert.Equal(PcpAction.Reply, step.Action);
        Assert.Equal("02800000" + "00000000" + "000001f4" + "000000000000000000000000", Hex.Of(reply));
    }

    [Fact]
    public void EveryPrefixOfMapRequest_DroppedOrMalformed()
    {
        byte[] full = Map(3600, 6, 8080, 8080);
        for (int length = 0; length < full.Length; length++)
        {
            var (step, reply) = Handle(full[..length]);
            if (length < 2)
            {
                Assert.Equal(PcpAction.Drop, step.Action);
                continue;
            }

            Assert.Equal(PcpResultCode.MalformedRequest, Result(reply));
            Assert.Equal(0x81, reply[1]);
            Assert.Equal(PcpCodec.LongErrorLifetime, Lifetime(reply));
            Assert.Equal(0, reply.Length % 4);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(255)]
    public void OtherVersion_UnsupportedVersionCarryingVersion2(byte version)
    {
        byte[] request = Map(3600, 6, 8080, 8080);
        request[0] = version;
        var (_, reply) = Handle(request);
        Assert.Equal(24, reply.Length);
        Assert.Equal(2, reply[0]);
        Assert.Equal(PcpResultCode.UnsupportedVersion, Result(reply));
        Assert.Equal(1800u, Lifetime(reply));
    }

    [Fact]
    public void ResponseBitSet_Dropped()
    {
        byte[] request = Map(3600, 6, 8080, 8080);
        request[1] |= 0x80;
        Assert.Equal(PcpAction.Drop, Handle(request).Step.Action);
    }

    [Fact]
    public void UnknownOpcode_UnsupportedOpcode_CopiesTheRequestBody()
    {
        byte[] request = [.. Header(2, 5, 0, "192.168.77.10"), 0xde, 0xad, 0xbe, 0xef];
        var (_, reply) = Handle(request);
        Assert.Equal(PcpResultCode.UnsupportedOpcode, Result(reply));
        Assert.Equal(0x85, reply[1]);
        Assert.Equal("deadbeef", Hex.Of(reply.AsSpan(24)));
    }

    [Theory]
    [InlineData(1104)]
    [InlineData(62)]
    public void OversizedOrNotWordAligned_Malformed(int length)
    {
        byte[] request = new byte[length];
        Map(3600, 6, 8080, 8080).CopyTo(request, 0);
        var (_, reply) = Handle(request);
        Assert.Equal(PcpResultCode.MalformedRequest, Result(reply));
        Assert.True(reply.Length <= 1100);
    }

    [Fact]
    public void ClientAddressFieldDiffersFromSource_AddressMismatch()
    {
        var (_, reply) = Handle(Map(3600, 6, 8080, 8080, client: "192.168.77.99"));
        Assert.Equal(PcpResultCode.AddressMismatch, Result(reply));
    }

    [Fact]
    public void LinkLocalSourceWithScope_MatchesItsWireAddress()
    {
        var source = IPAddress.Parse("fe80::10%3");
        var (step, reply) = Handle(Header(2, 0, 0, "fe80::10"), source: source);
        Assert.Equal(PcpAction.Reply, step.Action);
        Assert.Equal(PcpResultCode.Success, Result(reply));
    }

    [Theory]
    [InlineData(132)]
    [InlineData(1)]
    public void ProtocolOtherThanTcpOrUdp_UnsupportedProtocol(byte protocol)
    {
        var (_, reply) = Handle(Map(3600, protocol, 8080, 8080));
        Assert.Equal(PcpResultCode.UnsupportedProtocol, Result(reply));
    }

    [Fact]
    public void AllProtocolsWithAllPorts_UnsupportedProtocol()
    {
        var (_, reply) = Handle(Map(3600, 0, 0, 0));
        Assert.Equal(PcpResultCode.UnsupportedProtocol, Result(reply));
    }

    [Fact]
    public void AllProtocolsWithOnePort_Malformed()
    {
        // RFC 6887 §11.1: Protocol 0 means all protocols, and then the Internal Port must be 0 as well.
        var (_, reply) = Handle(Map(3600, 0, 8080, 8080));
        Assert.Equal(PcpResultCode.MalformedRequest, Result(reply));
    }

    [Fact]
    public void UnknownMandatoryOption_UnsupportedOption_OptionalOneIgnored()
    {
        Assert.Equal(PcpResultCode.UnsupportedOption, Result(Handle(Map(3600, 6, 8080, 8080, options: Option(127, [1, 2, 3, 4]))).Reply));
        Assert.Equal(PcpAction.Execute, Handle(Map(3600, 6, 8080, 8080, options: Option(128, [1, 2, 3]))).Step.Action);
    }

    public static TheoryData<byte[]> MalformedOptions => new()
    {
        Option(2, [1, 2, 3, 4]),                                   // PREFER_FAILURE with data
        Concat(Option(2, []), Option(2, [])),                     // PREFER_FAILURE twice
        Option(1, new byte[8]),                                    // THIRD_PARTY of the wrong length
        Concat(Option(1, Address("192.168.77.11")), Option(1, Address("192.168.77.12"))), // THIRD_PARTY twice
        Option(3, new byte[16]),                                   // FILTER of the wrong length
        Filter(95, 0, "203.0.113.2"),                             // an IPv4 prefix shorter than 96
        Filter(96, 0, "203.0.113.2"),                             // an IPv4 prefix of no bits
        Filter(129, 0, "2001:db8::1"),                            // longer than 128
        Concat([3, 0, 0, 40], new byte[20]),                       // FILTER whose length runs past the end
    };

    [Theory]
    [MemberData(nameof(MalformedOptions))]
    public void BadOption_MalformedOption(byte[] option)
    {
        var (_, reply) = Handle(Map(3600, 6, 8080, 8080, options: option));
        Assert.Equal(PcpResultCode.MalformedOption, Result(reply));
    }

    [Fact]
    public void PreferFailureInPeer_MalformedOption()
    {
        byte[] request = [.. Header(2, 2, 600, "192.168.77.10"), .. MapData(6, 5000, 5000), .. PeerTail(443, "198.51.100.7"), .. Option(2, [])];
        Assert.Equal(PcpResultCode.MalformedOption, Result(Handle(request).Reply));
    }

    [Fact]
    public void Filters_CarriedIntoTheCommandAndEchoed()
    {
        byte[] request = Map(3600, 17, 9000, 9000, options: [Filter(128, 0, "203.0.113.2"), Filter(120, 5060, "198.51.100.9")]);
        var (step, _) = Handle(request);
        Assert.Equal(
            [new MappingFilter(IPNetwork.Parse("203.0.113.2/32"), 0), new MappingFilter(IPNetwork.Parse("198.51.100.0/24"), 5060)],
            step.Command.Filters);

        byte[] reply = new byte[1100];
        int n = PcpHandler.Complete(step.Request!, new MappingOutcome(MappingStatus.Granted, 9000, 3600), Context(), reply);
        Assert.Equal(24 + 36 + 24 + 24, n);
        Assert.Equal(Hex.Of(Filter(120, 5060, "198.51.100.0")), Hex.Of(reply.AsSpan(n - 24, 24)));
    }

    [Fact]
    public void FilterPrefixLengthZero_ClearsFilters_NoFilterOptionKeepsThem()
    {
        Assert.Equal([], Handle(Map(3600, 17, 9000, 9000, options: Filter(0, 0, "::"))).Step.Command.Filters!);
        Assert.Null(Handle(Map(3600, 17, 9000, 9000)).Step.Command.Filters);
    }

    [Fact]
    public void TooManyFilters_ExcessiveRemotePeers()
    {
        byte[][] filters = [.. Enumerable.Range(1, 5).Select(i => Filter(128, 0, $"203.0.113.{i}"))];
        Assert.Equal(PcpResultCode.ExcessiveRemotePeers, Result(Handle(Map(3600, 6, 8080, 8080, options: filters)).Reply));
    }

    [Fact]
    public void ThirdParty_RefusedByDefault_AllowedForLanTargets()
    {
        byte[] request = Map(3600, 6, 8080, 8080, options: Option(1, Address("192.168.77.11")));
        Assert.Equal(PcpResultCode.NotAuthorized, Result(Handle(request).Reply));

        var (step, _) = Handle(request, Context(allowThirdParty: true));
        Assert.Equal(PcpAction.Execute, step.Action);
        Assert.Equal(IPAddress.Parse("192.168.77.11"), step.Command.InternalAddress);
        Assert.Equal(s_client, step.Command.Client);
        Assert.True(step.Command.ThirdPartyAuthorized);

        byte[] gateway = Map(3600, 6, 8080, 8080, options: Option(1, Address("192.168.77.1")));
        byte[] outside = Map(3600, 6, 8080, 8080, options: Option(1, Address("10.9.9.9")));
        Assert.Equal(PcpResultCode.NotAuthorized, Result(Handle(gateway, Context(allowThirdParty: true)).Reply));
        Assert.Equal(PcpResultCode.NotAuthorized, Result(Handle(outside, Context(allowThirdParty: true)).Reply));
    }

    [Fact]
    public void LifetimeZero_Delete_InternalPortZero_DeleteAll()
    {
        Assert.Equal(MappingCommandKind.Delete, Handle(Map(0, 6, 8080, 0)).Step.Command.Kind);
        Assert.Equal(MappingCommandKind.DeleteAll, Handle(Map(0, 6, 0, 0)).Step.Command.Kind);
    }

    [Fact]
    public void DeleteOfTheDiscardPort_SucceedsAndTellsTheExternalAddress()
    {
        var (step, _) = Handle(Map(0, 6, 9, 0));
        Assert.Equal(MappingCommandKind.Delete, step.Command.Kind);
        byte[] reply = new byte[1100];
        int n = PcpHandler.Complete(step.Request!, new MappingOutcome(MappingStatus.Deleted, 0, 0), Context(), reply);
        Assert.Equal(PcpResultCode.Success, (PcpResultCode)reply[3]);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)));
        Assert.Equal("0009" + "0000" + "00000000000000000000ffffcb007101", Hex.Of(reply.AsSpan(40, 20)));
        Assert.Equal(60, n);
    }

    [Fact]
    public void AllPortsMapping_NotAuthorized()
    {
        Assert.Equal(PcpResultCode.NotAuthorized, Result(Handle(Map(3600, 6, 0, 0)).Reply));
    }

    [Fact]
    public void NoExternalAddress_NetworkFailureWithShortLifetime()
    {
        var (_, reply) = Handle(Map(3600, 6, 8080, 8080), Context(online: false));
        Assert.Equal(PcpResultCode.NetworkFailure, Result(reply));
        Assert.Equal(PcpCodec.ShortErrorLifetime, Lifetime(reply));
    }

    [Fact]
    public void PreferFailureForAnotherExternalAddress_CannotProvideExternal()
    {
        byte[] request = [.. Header(2, 1, 3600, "192.168.77.10"), .. MapData(6, 8080, 8080, "203.0.113.99"), .. Option(2, [])];
        Assert.Equal(PcpResultCode.CannotProvideExternal, Result(Handle(request).Reply));
    }

    [Fact]
    public void Peer_BecomesPeerCommandWithTheRemoteEndpoint()
    {
        byte[] request = [.. Header(2, 2, 600, "192.168.77.10"), .. MapData(17, 5000, 5000), .. PeerTail(3478, "198.51.100.7")];
        var (step, _) = Handle(request);
        Assert.Equal(MappingCommandKind.Peer, step.Command.Kind);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("198.51.100.7"), 3478), step.Command.RemotePeer);

        byte[] reply = new byte[1100];
        int n = PcpHandler.Complete(step.Request!, new MappingOutcome(MappingStatus.Granted, 5000, 600), Context(), reply);
        Assert.Equal(24 + 56, n);
        Assert.Equal("0d96" + "0000" + "00000000000000000000ffffc6336407", Hex.Of(reply.AsSpan(60, 20)));
    }

    [Fact]
    public void PeerWithoutRemotePort_Malformed()
    {
        byte[] request = [.. Header(2, 2, 600, "192.168.77.10"), .. MapData(17, 5000, 5000), .. PeerTail(0, "198.51.100.7")];
        Assert.Equal(PcpResultCode.MalformedRequest, Result(Handle(request).Reply));
    }

    [Fact]
    public void MapFromIPv6Host_PinholeCommandForThatAddress()
    {
        byte[] request = Map(600, 6, 8080, 0, client: "2001:db8:77::10");
        var (step, _) = Handle(request, source: s_client6);
        Assert.Equal(s_client6, step.Command.InternalAddress);

        byte[] reply = new byte[1100];
        int n = PcpHandler.Complete(step.Request!, new MappingOutcome(MappingStatus.Granted, 8080, 600), Context(), reply);
        Assert.Equal("1f901f90" + "20010db8007700000000000000000010", Hex.Of(reply.AsSpan(24 + 16, 20)));
    }

    [Theory]
    [InlineData(MappingStatus.NotAuthorized, PcpResultCode.NotAuthorized, 1800u)]
    [InlineData(MappingStatus.QuotaExceeded, PcpResultCode.UserExceededQuota, 30u)]
    [InlineData(MappingStatus.NoResources, PcpResultCode.NoResources, 30u)]
    [InlineData(MappingStatus.CannotProvideExternal, PcpResultCode.CannotProvideExternal, 30u)]
    [InlineData(MappingStatus.NoExternalAddress, PcpResultCode.NetworkFailure, 30u)]
    public void Complete_Refusal_ResultCodeAndErrorLifetime(MappingStatus status, PcpResultCode code, uint lifetime)
    {
        var (step, _) = Handle(Map(3600, 6, 8080, 9000));
        byte[] reply = new byte[1100];
        int n = PcpHandler.Complete(step.Request!, MappingOutcome.Denied(status), Context(), reply);
        Assert.Equal(code, (PcpResultCode)reply[3]);
        Assert.Equal(lifetime, BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)));
        Assert.Equal(9000, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(24 + 18)));
        Assert.Equal(60, n);
    }

    [Fact]
    public void RandomAndTruncatedInput_NeverThrows_RepliesAreResponses()
    {
        var random = new Random(6887);
        byte[] reply = new byte[PcpHandler.MaxReplyLength];
        byte[] valid = Map(3600, 6, 8080, 8080, options: [Filter(128, 0, "203.0.113.2"), Option(2, [])]);
        for (int i = 0; i < 20000; i++)
        {
            byte[] datagram;
            if (i % 2 == 0)
            {
                datagram = new byte[random.Next(0, 200) & ~3];
                random.NextBytes(datagram);
                if (datagram.Length > 1)
                {
                    datagram[0] = 2;
                    datagram[1] &= 0x7F;
                }
            }
            else
            {
                datagram = (byte[])valid.Clone();
                datagram[random.Next(24, datagram.Length)] = (byte)random.Next(256);
            }

            PcpStep step = PcpHandler.Handle(datagram, s_client, Context(allowThirdParty: true), reply);
            Assert.InRange(step.ReplyLength, 0, 1100);
            if (step.Action == PcpAction.Reply)
            {
                Assert.Equal(2, reply[0]);
                Assert.True((reply[1] & 0x80) != 0);
                Assert.Equal(0, step.ReplyLength % 4);
            }
        }
    }
}
