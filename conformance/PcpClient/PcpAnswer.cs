using System.Net;

namespace PortMapper.Conformance.PcpClient;

/// <summary>A PCP response as a client reads it (RFC 6887 §7.2, §11.1, §12.1). MAP/PEER fields are zero for ANNOUNCE.</summary>
public sealed record PcpAnswer(
    byte Version,
    byte Opcode,
    byte Result,
    uint Lifetime,
    uint Epoch,
    byte[] Nonce,
    byte Protocol,
    ushort InternalPort,
    ushort ExternalPort,
    IPAddress ExternalAddress,
    int Length)
{
    public const byte Success = 0;
    public const byte NotAuthorized = 2;
    public const byte MalformedRequest = 3;
    public const byte UnsupportedOption = 5;
    public const byte MalformedOption = 6;
    public const byte NetworkFailure = 7;
    public const byte UnsupportedProtocol = 9;
    public const byte CannotProvideExternal = 11;
    public const byte AddressMismatch = 12;
}
