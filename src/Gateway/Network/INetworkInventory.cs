namespace PortMapper.Gateway.Network;

/// <summary>The machine's interfaces and default route, read afresh on every call.</summary>
public interface INetworkInventory
{
    IReadOnlyList<NetworkInterfaceInfo> Interfaces();

    /// <summary>One interface's IPv4 addresses, primary first; empty when it has none or does not exist.</summary>
    IReadOnlyList<System.Net.IPAddress> IPv4Addresses(string name) =>
        Interfaces().FirstOrDefault(i => i.Name == name)?.Addresses.Select(a => a.Address)
            .Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToList() ?? [];

    /// <summary>The interface of the IPv4 default route, or null when there is none.</summary>
    string? DefaultRouteInterface();
}
