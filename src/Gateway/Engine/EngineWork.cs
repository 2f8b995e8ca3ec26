using System.Net;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Engine;

/// <summary>One unit of work for the engine's loop, and how to report its result once it is durable.</summary>
internal sealed class EngineWork
{
    public EngineWorkKind Kind { get; init; }

    public MappingCommand Command { get; init; }

    public Action<MappingOutcome>? Reply { get; init; }

    public long LeaseId { get; init; }

    public IPAddress? Address { get; init; }

    public Configuration.GatewayOptions? Options { get; init; }

    public TaskCompletionSource<bool>? Done { get; init; }

    public MappingOutcome Outcome { get; set; }

    public bool Succeeded { get; set; }
}
