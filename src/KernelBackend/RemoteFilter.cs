using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>Remote peers allowed through a mapping: those in <see cref="Network"/>, from <see cref="Port"/> (0: any port).</summary>
public readonly record struct RemoteFilter(IPNetwork Network, ushort Port);
