namespace PortMapper.KernelBackend;

/// <summary>The kernel's connection tracking, as far as the gateway ends flows when their mapping ends.</summary>
public interface IFlowTable
{
    /// <summary>Ends every tracked flow that one of the endpoints admitted (see <see cref="FlowEndpoint"/>); returns how many were ended.</summary>
    int EndFlows(IReadOnlyCollection<FlowEndpoint> endpoints);
}
