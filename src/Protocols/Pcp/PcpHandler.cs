using System.Net;
using System.Net.Sockets;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Protocols.Pcp;

/// <summary>
/// PCP request handling (RFC 6887) as a pure function of (datagram, source, context). MAP and PEER requests
/// that pass validation become a <see cref="MappingCommand"/>; the caller runs it against the lease table
/// and passes the outcome to <see cref="Complete"/>.
/// </summary>
public static class PcpHandler
{
    public const int MaxReplyLength = PcpCodec.MaxMessageLength;

    public static PcpStep Handle(ReadOnlySpan<byte> datagram, IPAddress source, in PcpContext context, Span<byte> reply)
    {
        PcpDecodeResult decoded = PcpCodec.Decode(datagram, source);
        if (decoded.Drop)
        {
            return PcpStep.Dropped;
        }

        if (decoded.Request is not { } request)
        {
            // §8.3: an error response copies the request's opcode-specific data and options (whole 32-bit words,
            // at most 1100 octets in all); an unknown version's layout is unknown, so nothing is copied then.
            ReadOnlySpan<byte> copy = decoded.Error == PcpResultCode.UnsupportedVersion || datagram.Length <= PcpCodec.HeaderLength
                ? []
                : datagram[PcpCodec.HeaderLength..Math.Min(datagram.Length & ~3, PcpCodec.MaxMessageLength)];
            return Error(decoded.Opcode, decoded.Error, copy, context, reply);
        }

        if (request.Opcode == PcpOpcode.Announce)
        {
            // §14.1: answered with SUCCESS; the epoch is what the client checks.
            PcpCodec.TryWriteResponse((byte)PcpOpcode.Announce, PcpResultCode.Success, 0, context.EpochSeconds, [], reply, out int n);
            return PcpStep.Replied(n);
        }

        PcpResultCode refusal = Validate(request, context);
        if (refusal != PcpResultCode.Success)
        {
            return PcpStep.Replied(Write(request, refusal, 0, 0, context, reply));
        }

        if (request.Opcode == PcpOpcode.Peer && request.InternalAddress.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // No translation for IPv6: the peer sees the host's own address and port, and the stateful
            // firewall already admits the peer's replies to an outbound flow.
            return PcpStep.Replied(Write(request, PcpResultCode.Success, request.RequestedLifetime, request.InternalPort, context, reply));
        }

        MappingCommandKind kind = request switch
        {
            { Opcode: PcpOpcode.Peer } => MappingCommandKind.Peer,
            { RequestedLifetime: > 0 } => MappingCommandKind.Map,
            { InternalPort: 0 } => MappingCommandKind.DeleteAll,
            _ => MappingCommandKind.Delete,
        };
        var command = new MappingCommand(
            kind,
            (MappingProtocol)request.Protocol,
            MappingOrigin.Pcp,
            request.ClientAddress,
            request.InternalAddress,
            request.InternalPort,
            request.SuggestedExternalPort,
            request.RequestedLifetime,
            request.Description ?? string.Empty,
            request.Nonce,
            request.PreferFailure,
            request.HasFilterOption ? [.. request.Filters.Select(f => new MappingFilter(f.RemoteNetwork, f.RemotePort))] : null,
            ThirdPartyAuthorized: request.ThirdParty is not null,
            RemotePeer: request.RemotePeerAddress is { } peer ? new IPEndPoint(peer, request.RemotePeerPort) : null);
        return new PcpStep(PcpAction.Execute, 0, request, command);
    }

    /// <summary>Writes the answer to a MAP or PEER request once the lease table has decided.</summary>
    public static int Complete(PcpRequest request, in MappingOutcome outcome, in PcpContext context, Span<byte> reply)
    {
        PcpResultCode result = ToResultCode(outcome.Status);
        return result == PcpResultCode.Success
            ? Write(request, result, outcome.LifetimeSeconds, outcome.ExternalPort, context, reply)
            : Write(request, result, 0, 0, context, reply);
    }

    public static PcpResultCode ToResultCode(MappingStatus status) => status switch
    {
        MappingStatus.Granted or MappingStatus.Deleted => PcpResultCode.Success,
        MappingStatus.NotAuthorized => PcpResultCode.NotAuthorized,
        MappingStatus.QuotaExceeded => PcpResultCode.UserExceededQuota,
        MappingStatus.NoResources or MappingStatus.KernelRefused => PcpResultCode.NoResources,
        MappingStatus.NoExternalAddress or MappingStatus.UpstreamFailed => PcpResultCode.NetworkFailure,
        MappingStatus.CannotProvideExternal or MappingStatus.ConflictWithOtherMechanism => PcpResultCode.CannotProvideExternal,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown mapping status"),
    };

    private static PcpResultCode Validate(PcpRequest request, in PcpContext context)
    {
        if (request.ThirdParty is { } target)
        {
            // §13.1: a server that does not permit THIRD_PARTY answers NOT_AUTHORIZED.
            if (!context.AllowThirdParty || !context.IsThirdPartyTarget(target) || target.AddressFamily != request.ClientAddress.AddressFamily)
            {
                return PcpResultCode.NotAuthorized;
            }
        }

        if (request.Protocol == 0 && request.InternalPort != 0)
        {
            // §11.1: with Protocol 0 ("all protocols") the Internal Port must be 0 too; anything else is malformed.
            return PcpResultCode.MalformedRequest;
        }

        if (request.Protocol is not ((byte)MappingProtocol.Tcp or (byte)MappingProtocol.Udp))
        {
            // Protocol 0 ("all protocols") and anything but TCP and UDP.
            return PcpResultCode.UnsupportedProtocol;
        }

        bool v4 = request.InternalAddress.AddressFamily == AddressFamily.InterNetwork;
        if (request.Opcode == PcpOpcode.Peer)
        {
            if (request.InternalPort == 0 || request.RemotePeerPort == 0 || request.RemotePeerAddress is not { } peer
                || peer.Equals(IPAddress.IPv6Any) || peer.AddressFamily != request.InternalAddress.AddressFamily)
            {
                return PcpResultCode.MalformedRequest;
            }
        }
        else if (request.Filters.Count > context.MaxFilters)
        {
            return PcpResultCode.ExcessiveRemotePeers;
        }
        else if (request.Filters.Any(f => f.RemoteNetwork.BaseAddress.AddressFamily != request.InternalAddress.AddressFamily))
        {
            return PcpResultCode.MalformedOption;
        }

        if (request.RequestedLifetime == 0)
        {
            return PcpResultCode.Success;
        }

        if (request.InternalPort == 0)
        {
            // "All ports" mappings are not offered.
            return PcpResultCode.NotAuthorized;
        }

        if (v4 && context.ExternalAddress is null)
        {
            return PcpResultCode.NetworkFailure;
        }

        bool namesAnotherAddress = v4
            && !request.SuggestedExternalAddress.Equals(IPAddress.IPv6Any)
            && !request.SuggestedExternalAddress.Equals(IPAddress.Any)
            && !request.SuggestedExternalAddress.Equals(context.ExternalAddress);
        return request.PreferFailure && namesAnotherAddress ? PcpResultCode.CannotProvideExternal : PcpResultCode.Success;
    }

    /// <summary>A MAP or PEER response: the request's data with the assigned port and address, and the options it honoured.</summary>
    private static int Write(PcpRequest request, PcpResultCode result, uint lifetime, ushort externalPort, in PcpContext context, Span<byte> reply)
    {
        Span<byte> body = stackalloc byte[PcpCodec.MaxMessageLength - PcpCodec.HeaderLength];
        bool success = result == PcpResultCode.Success;
        IPAddress externalAddress = !success
            ? request.SuggestedExternalAddress
            : request.InternalAddress.AddressFamily == AddressFamily.InterNetworkV6
                ? request.InternalAddress
                : context.ExternalAddress ?? IPAddress.Any;
        ushort port = success ? externalPort : request.SuggestedExternalPort;
        if (success && request.RequestedLifetime == 0)
        {
            // A delete assigns no port, but the address is still worth telling: clients such as mDNSResponder
            // learn the external address with a lifetime-0 MAP of the discard port (TCP 9).
            port = request.SuggestedExternalPort;
        }

        int n = PcpCodec.WriteMapData(body, request.Nonce, request.Protocol, request.InternalPort, port, externalAddress);
        if (request.Opcode == PcpOpcode.Peer)
        {
            n += PcpCodec.WritePeerTail(body[n..], request.RemotePeerPort, request.RemotePeerAddress!);
        }

        if (request.ThirdParty is { } thirdParty)
        {
            n += PcpCodec.WriteThirdParty(body[n..], thirdParty);
        }

        if (request.PreferFailure)
        {
            n += PcpCodec.WriteOption(body[n..], PcpOptionCode.PreferFailure, []);
        }

        foreach (PcpFilter filter in request.Filters)
        {
            n += PcpCodec.WriteFilter(body[n..], filter);
        }

        if (success && request.Description is { Length: > 0 } description)
        {
            // RFC 7220 §3: the response carries what the server stored.
            n += PcpCodec.WriteDescription(body[n..], description);
        }

        uint responseLifetime = success ? lifetime : PcpCodec.ErrorLifetime(result);
        PcpCodec.TryWriteResponse((byte)request.Opcode, result, responseLifetime, context.EpochSeconds, body[..n], reply, out int written);
        return written;
    }

    private static PcpStep Error(byte opcode, PcpResultCode result, ReadOnlySpan<byte> copy, in PcpContext context, Span<byte> reply)
    {
        PcpCodec.TryWriteResponse(opcode, result, PcpCodec.ErrorLifetime(result), context.EpochSeconds, copy, reply, out int n);
        return PcpStep.Replied(n);
    }
}
