using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Engine;

/// <summary>One unit of work for the engine's loop, and how to report its result once it is durable.</summary>
internal sealed class EngineWork
{
    public EngineWorkKind Kind { get; init; }

    public MappingCommand Command { get; init; }

    /// <summary>The device that sent a mapping request (its quota is charged).</summary>
    public DeviceId Device { get; init; }

    public Action<MappingOutcome>? Reply { get; init; }

    public long LeaseId { get; init; }

    public IPAddress? Address { get; init; }

    public Configuration.GatewayOptions? Options { get; init; }

    public Status.UpstreamStatus? Upstream { get; init; }

    /// <summary>For <see cref="EngineWorkKind.Upstream"/>: the upstream lost its mappings, so LAN clients get a new epoch.</summary>
    public bool Restart { get; init; }

    public TaskCompletionSource<bool>? Done { get; init; }

    public MappingOutcome Outcome { get; set; }

    public bool Succeeded { get; set; }

    /// <summary>The batch's lease changes this work made: [<see cref="FirstChange"/>, <see cref="EndChange"/>).</summary>
    public int FirstChange { get; set; }

    public int EndChange { get; set; }
}
