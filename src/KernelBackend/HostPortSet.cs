namespace PortMapper.KernelBackend;

/// <summary>A snapshot of the ports the gateway holds, per transport protocol.</summary>
public sealed class HostPortSet
{
    public static readonly HostPortSet Empty = new([], []);

    private readonly HashSet<ushort> _tcp;
    private readonly HashSet<ushort> _udp;

    public HostPortSet(IEnumerable<ushort> tcp, IEnumerable<ushort> udp)
    {
        _tcp = [.. tcp];
        _udp = [.. udp];
    }

    public int Count => _tcp.Count + _udp.Count;

    public bool Contains(TransportProtocol protocol, ushort port) => (protocol == TransportProtocol.Tcp ? _tcp : _udp).Contains(port);
}
