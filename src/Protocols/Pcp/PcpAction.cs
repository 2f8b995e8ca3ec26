namespace PortMapper.Protocols.Pcp;

public enum PcpAction : byte
{
    Drop,
    Reply,
    Execute,
}
