namespace PortMapper.Protocols.Upnp;

/// <summary>
/// One of the two root devices the gateway describes. IGD:1 is what Windows, Xbox, PlayStation and most games
/// understand; IGD:2 adds AddAnyPortMapping, range operations and the IPv6 firewall. Both are views of the one
/// lease table.
/// </summary>
public sealed record RootDevice(int IgdVersion, string DescriptionPath, DeviceNode Device)
{
    public IEnumerable<DeviceNode> Devices => Device.SelfAndDescendants;

    /// <summary>
    /// The gateway's two root devices. Their UDNs derive from one persistent UUID (its last octet numbers the
    /// devices), so they stay the same across restarts and never collide with each other.
    /// </summary>
    public static (RootDevice Igd1, RootDevice Igd2) Create(Guid baseUuid)
    {
        string Udn(int n)
        {
            Span<byte> bytes = stackalloc byte[16];
            baseUuid.TryWriteBytes(bytes, bigEndian: true, out _);
            bytes[15] = (byte)n;
            return "uuid:" + new Guid(bytes, bigEndian: true).ToString("D");
        }

        ServiceDefinition wanIp1 = ServiceDefinition.WanIPConnection1;
        var igd1 = new RootDevice(1, "/rootDesc.xml", new DeviceNode(
            DeviceNode.UrnPrefix + "InternetGatewayDevice:1",
            Udn(1),
            [ServiceDefinition.Layer3Forwarding1],
            [
                new DeviceNode(DeviceNode.UrnPrefix + "WANDevice:1", Udn(2), [ServiceDefinition.WanCommonInterfaceConfig1],
                [
                    new DeviceNode(DeviceNode.UrnPrefix + "WANConnectionDevice:1", Udn(3), [wanIp1], []),
                ]),
            ]));
        var igd2 = new RootDevice(2, "/rootDesc2.xml", new DeviceNode(
            DeviceNode.UrnPrefix + "InternetGatewayDevice:2",
            Udn(4),
            [],
            [
                new DeviceNode(DeviceNode.UrnPrefix + "WANDevice:2", Udn(5), [ServiceDefinition.WanCommonInterfaceConfig1],
                [
                    new DeviceNode(DeviceNode.UrnPrefix + "WANConnectionDevice:2", Udn(6),
                        [ServiceDefinition.WanIPConnection2, ServiceDefinition.WanIPv6FirewallControl1], []),
                ]),
            ]));
        return (igd1, igd2);
    }
}
