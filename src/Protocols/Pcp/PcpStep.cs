using PortMapper.Protocols.Mapping;

namespace PortMapper.Protocols.Pcp;

/// <summary>The handler's decision for one datagram: drop it, send the reply written, or run a command first.</summary>
public readonly record struct PcpStep(PcpAction Action, int ReplyLength, PcpRequest? Request, MappingCommand Command)
{
    public static PcpStep Dropped { get; } = new(PcpAction.Drop, 0, null, default);

    public static PcpStep Replied(int length) => new(PcpAction.Reply, length, null, default);
}
