using System.Net;
using System.Net.NetworkInformation;

namespace PortMapper.KernelBackend;

/// <summary>The kernel's neighbour table (ARP for IPv4, neighbour discovery for IPv6).</summary>
public interface INeighbourTable
{
    /// <summary>The link-layer address the kernel has for an address on an interface, or null when it has none.</summary>
    PhysicalAddress? LinkAddressOf(IPAddress address, int interfaceIndex);

    /// <summary>
    /// Asks the kernel to resolve an address it has no entry for (ARP or neighbour solicitation), as
    /// <c>ip neigh replace ADDR dev DEV use</c> does; the answer lands in the table a round trip later.
    /// </summary>
    void Solicit(IPAddress address, int interfaceIndex);
}
