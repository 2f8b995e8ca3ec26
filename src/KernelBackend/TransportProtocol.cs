namespace PortMapper.KernelBackend;

/// <summary>Transport protocol of a kernel mapping, valued as its IANA protocol number.</summary>
public enum TransportProtocol : byte
{
    Tcp = 6,
    Udp = 17,
}
