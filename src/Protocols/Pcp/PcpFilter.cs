using System.Net;

namespace PortMapper.Protocols.Pcp;

/// <summary>
/// One FILTER option: remote peers in <see cref="RemoteNetwork"/> (IPv4 prefixes unmapped from ::ffff:0:0/96)
/// may reach the mapping; <see cref="RemotePort"/> 0 means any port.
/// </summary>
public readonly record struct PcpFilter(IPNetwork RemoteNetwork, ushort RemotePort);
