using PortMapper.Protocols.Mapping;

namespace PortMapper.Protocols.NatPmp;

/// <summary>The handler's decision for one datagram.</summary>
public readonly record struct NatPmpStep(
    NatPmpAction Action,
    NatPmpDecodeError DropReason,
    int ReplyLength,
    NatPmpRequest Request,
    MappingCommand Command)
{
    public static NatPmpStep Dropped(NatPmpDecodeError reason) => new(NatPmpAction.Drop, reason, 0, default, default);

    public static NatPmpStep Replied(NatPmpRequest request, int length) => new(NatPmpAction.Reply, NatPmpDecodeError.None, length, request, default);
}
