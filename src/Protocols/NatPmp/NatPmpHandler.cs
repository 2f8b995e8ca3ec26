using System.Net;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Protocols.NatPmp;

/// <summary>
/// NAT-PMP request handling as a pure function of (datagram, source, gateway context). Mapping requests
/// become a <see cref="MappingCommand"/>; the caller runs it against the lease table and passes the
/// outcome to <see cref="Complete"/>.
/// </summary>
public static class NatPmpHandler
{
    /// <summary>The largest reply this handler writes.</summary>
    public const int MaxReplyLength = NatPmpCodec.MapResponseLength;

    public static NatPmpStep Handle(ReadOnlySpan<byte> datagram, IPAddress source, in NatPmpContext context, Span<byte> reply)
    {
        NatPmpDecodeResult decoded = NatPmpCodec.Decode(datagram);
        NatPmpRequest request = decoded.Request;
        int length;
        switch (decoded.Error)
        {
            case NatPmpDecodeError.TooShort:
            case NatPmpDecodeError.NotARequest:
                return NatPmpStep.Dropped(decoded.Error);
            case NatPmpDecodeError.UnsupportedVersion:
                // Erratum 3618: the opcode of another version means nothing here, so answer OP = 128.
                NatPmpCodec.TryWriteErrorResponse(0, NatPmpResultCode.UnsupportedVersion, context.EpochSeconds, reply, out length);
                return NatPmpStep.Replied(request, length);
            case NatPmpDecodeError.UnsupportedOpcode:
                NatPmpCodec.TryWriteErrorResponse(request.Opcode, NatPmpResultCode.UnsupportedOpcode, context.EpochSeconds, reply, out length);
                return NatPmpStep.Replied(request, length);
        }

        if (request.Opcode == (byte)NatPmpOpcode.ExternalAddress)
        {
            NatPmpResultCode result = context.ExternalAddress is null ? NatPmpResultCode.NetworkFailure : NatPmpResultCode.Success;
            NatPmpCodec.TryWriteExternalAddressResponse(result, context.EpochSeconds, context.ExternalAddress, reply, out length);
            return NatPmpStep.Replied(request, length);
        }

        MappingProtocol protocol = request.Opcode == (byte)NatPmpOpcode.MapTcp ? MappingProtocol.Tcp : MappingProtocol.Udp;
        MappingCommandKind kind;
        if (request.RequestedLifetimeSeconds != 0)
        {
            if (context.ExternalAddress is null)
            {
                // §3.5: "3 - Network Failure (e.g., NAT box itself has not obtained a DHCP lease)".
                NatPmpCodec.TryWriteMapResponse(request.Opcode, NatPmpResultCode.NetworkFailure, context.EpochSeconds, request.InternalPort, 0, 0, reply, out length);
                return NatPmpStep.Replied(request, length);
            }

            kind = MappingCommandKind.Map;
        }
        else
        {
            // §3.4: lifetime 0 deletes; internal port 0 as well deletes all of the client's mappings of the protocol.
            kind = request.InternalPort == 0 ? MappingCommandKind.DeleteAll : MappingCommandKind.Delete;
        }

        var command = new MappingCommand(
            kind,
            protocol,
            MappingOrigin.NatPmp,
            source,
            source,
            request.InternalPort,
            request.SuggestedExternalPort,
            request.RequestedLifetimeSeconds,
            string.Empty);
        return new NatPmpStep(NatPmpAction.Execute, NatPmpDecodeError.None, 0, request, command);
    }

    /// <summary>Writes the answer to a mapping request once the lease table has decided.</summary>
    public static int Complete(in NatPmpRequest request, in MappingOutcome outcome, in NatPmpContext context, Span<byte> reply)
    {
        NatPmpResultCode result = ToResultCode(outcome.Status);
        bool granted = outcome.Status == MappingStatus.Granted;
        NatPmpCodec.TryWriteMapResponse(
            request.Opcode,
            result,
            context.EpochSeconds,
            request.InternalPort,
            granted ? outcome.ExternalPort : (ushort)0,
            granted ? outcome.LifetimeSeconds : 0,
            reply,
            out int length);
        return length;
    }

    public static NatPmpResultCode ToResultCode(MappingStatus status) => status switch
    {
        MappingStatus.Granted or MappingStatus.Deleted => NatPmpResultCode.Success,
        MappingStatus.NotAuthorized => NatPmpResultCode.NotAuthorized,
        MappingStatus.NoExternalAddress or MappingStatus.KernelRefused or MappingStatus.UpstreamFailed => NatPmpResultCode.NetworkFailure,
        MappingStatus.QuotaExceeded or MappingStatus.NoResources or MappingStatus.CannotProvideExternal or MappingStatus.ConflictWithOtherMechanism
            => NatPmpResultCode.OutOfResources,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown mapping status"),
    };
}
