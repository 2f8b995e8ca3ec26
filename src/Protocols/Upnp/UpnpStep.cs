using PortMapper.Protocols.Mapping;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// What <see cref="UpnpHandler.Handle"/> decided: an answer at once, or mapping commands for the lease table and
/// how to answer once their outcomes are known (in the order of the commands).
/// </summary>
public sealed class UpnpStep
{
    private readonly Func<IReadOnlyList<MappingOutcome>, IUpnpContext, SoapResult>? _complete;

    private UpnpStep(SoapResult? answer, IReadOnlyList<MappingCommand> commands, Func<IReadOnlyList<MappingOutcome>, IUpnpContext, SoapResult>? complete)
    {
        Answer = answer;
        Commands = commands;
        _complete = complete;
    }

    /// <summary>The answer, when no command is needed.</summary>
    public SoapResult? Answer { get; }

    public IReadOnlyList<MappingCommand> Commands { get; }

    public static UpnpStep Reply(SoapResult answer) => new(answer, [], null);

    public static UpnpStep Execute(IReadOnlyList<MappingCommand> commands, Func<IReadOnlyList<MappingOutcome>, IUpnpContext, SoapResult> complete) =>
        new(null, commands, complete);

    public static UpnpStep Execute(MappingCommand command, Func<MappingOutcome, IUpnpContext, SoapResult> complete) =>
        new(null, [command], (outcomes, context) => complete(outcomes[0], context));

    /// <summary>The answer once the commands have run (durable and in the kernel).</summary>
    public SoapResult Complete(IReadOnlyList<MappingOutcome> outcomes, IUpnpContext context) =>
        Answer ?? _complete!(outcomes, context);
}
