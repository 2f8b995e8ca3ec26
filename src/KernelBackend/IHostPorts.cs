using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>The ports the gateway's own sockets hold: TCP listeners and bound UDP sockets, kernel sockets included.</summary>
public interface IHostPorts
{
    /// <summary>
    /// What is bound now on <paramref name="externalAddress"/> or on a wildcard address: the ports a mapping
    /// of that address would take from the gateway.
    /// </summary>
    /// <param name="externalAddress">The WAN address (null: wildcard-bound sockets only).</param>
    /// <param name="only">One transport protocol's sockets only (the other's set is left empty), or both.</param>
    HostPortSet Read(IPAddress? externalAddress, TransportProtocol? only = null);
}
