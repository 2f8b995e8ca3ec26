namespace PortMapper.Protocols.NatPmp;

public readonly record struct NatPmpDecodeResult(NatPmpRequest Request, NatPmpDecodeError Error)
{
    public bool IsValid => Error == NatPmpDecodeError.None;
}
