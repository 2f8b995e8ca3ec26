using System.Net;
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

    public IPAddress? Read()
    {
        foreach (IPAddress address in _inventory.IPv4Addresses(_wan))
        {
            if (!IPAddress.IsLoopback(address))
            {
                return address;
            }
        }

        return null;
    }
}
