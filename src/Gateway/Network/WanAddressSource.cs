using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Configuration;

namespace PortMapper.Gateway.Network;

/// <summary>Reads the WAN interface's current IPv4 address (the first global one), or null when it has none.</summary>
public sealed class WanAddressSource
{
    private readonly INetworkInventory _inventory;
    private readonly string _wan;

    public WanAddressSource(INetworkInventory inventory, GatewayOptions options)
    {
        _inventory = inventory;
        _wan = options.WanInterface;
    }

    public IPAddress? Read() =>
        _inventory.Interfaces()
            .FirstOrDefault(i => i.Name == _wan)?
            .Addresses.Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
}
