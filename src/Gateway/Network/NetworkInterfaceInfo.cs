namespace PortMapper.Gateway.Network;

/// <summary>One interface as the gateway sees it. Addresses are IPv4 and IPv6 unicast addresses with prefixes.</summary>
public sealed record NetworkInterfaceInfo(string Name, int Index, bool IsUp, bool IsLoopback, IReadOnlyList<InterfaceAddress> Addresses);
