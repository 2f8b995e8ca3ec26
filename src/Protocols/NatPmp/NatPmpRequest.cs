namespace PortMapper.Protocols.NatPmp;

/// <summary>A decoded NAT-PMP request. Port and lifetime fields are zero for <see cref="NatPmpOpcode.ExternalAddress"/>.</summary>
public readonly record struct NatPmpRequest(
    byte Version,
    byte Opcode,
    ushort InternalPort,
    ushort SuggestedExternalPort,
    uint RequestedLifetimeSeconds)
{
    public bool IsMapping => Opcode is (byte)NatPmpOpcode.MapUdp or (byte)NatPmpOpcode.MapTcp;
}
