using System.Net;

namespace PortMapper.Protocols.NatPmp;

/// <summary>Gateway facts a NAT-PMP answer depends on: the external address (null while unknown) and the epoch.</summary>
public readonly record struct NatPmpContext(IPAddress? ExternalAddress, uint EpochSeconds);
