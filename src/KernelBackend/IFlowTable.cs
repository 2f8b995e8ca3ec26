namespace PortMapper.KernelBackend;

/// <summary>The kernel's connection tracking, as far as the gateway ends flows when their mapping ends.</summary>
public interface IFlowTable
{
    /// <summary>Ends every tracked flow addressed to one of the endpoints; returns how many were ended.</summary>
    int EndFlows(IReadOnlyCollection<FlowEndpoint> endpoints);
}
