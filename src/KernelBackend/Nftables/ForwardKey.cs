using System.Net;

namespace PortMapper.KernelBackend.Nftables;

/// <summary>The forward-accept entry of a mapping: translated packets to this internal endpoint pass.</summary>
public readonly record struct ForwardKey(IPAddress InternalAddress, TransportProtocol Protocol, ushort InternalPort);
