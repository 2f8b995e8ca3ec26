namespace PortMapper.KernelBackend.Netlink;

/// <summary>
/// A packet an nftables <c>log group</c> rule copied to user space: the family (2 IPv4, 10 IPv6), the rule's prefix,
/// and the packet from its network header. Both point into the socket's buffer and are valid until the next receive.
/// </summary>
public readonly record struct LoggedPacket(byte Family, ReadOnlyMemory<byte> Prefix, ReadOnlyMemory<byte> Packet);
