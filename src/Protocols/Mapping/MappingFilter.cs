using System.Net;

namespace PortMapper.Protocols.Mapping;

/// <summary>Remote peers allowed to use a mapping: those in <see cref="Network"/>, from <see cref="Port"/> (0: any port).</summary>
public readonly record struct MappingFilter(IPNetwork Network, ushort Port);
