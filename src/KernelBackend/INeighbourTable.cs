using System.Net;
using System.Net.NetworkInformation;

namespace PortMapper.KernelBackend;

/// <summary>The kernel's neighbour table (ARP for IPv4, neighbour discovery for IPv6).</summary>
public interface INeighbourTable
{
    /// <summary>The link-layer address the kernel has for an address on an interface, or null when it has none.</summary>
    PhysicalAddress? LinkAddressOf(IPAddress address, int interfaceIndex);
}
