namespace PortMapper.Gateway.Network;

/// <summary>The machine's interfaces and default route, read afresh on every call.</summary>
public interface INetworkInventory
{
    IReadOnlyList<NetworkInterfaceInfo> Interfaces();

    /// <summary>The interface of the IPv4 default route, or null when there is none.</summary>
    string? DefaultRouteInterface();
}
