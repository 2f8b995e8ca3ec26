namespace PortMapper.Protocols.Pcp;

/// <summary>
/// The outcome of decoding: a request, or the result code to answer with, or (<see cref="Drop"/>) nothing at
/// all. <see cref="Opcode"/> is known whenever the header was readable, for the error response.
/// </summary>
public readonly record struct PcpDecodeResult(PcpRequest? Request, PcpResultCode Error, bool Drop, byte Opcode)
{
    public bool IsValid => Request is not null;
}
