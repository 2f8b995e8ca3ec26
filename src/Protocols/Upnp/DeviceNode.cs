namespace PortMapper.Protocols.Upnp;

/// <summary>A device of a description: its type, UDN, services and embedded devices.</summary>
public sealed record DeviceNode(string DeviceType, string Udn, IReadOnlyList<ServiceDefinition> Services, IReadOnlyList<DeviceNode> Children)
{
    public const string UrnPrefix = "urn:schemas-upnp-org:device:";

    /// <summary>This device and every device below it, depth first.</summary>
    public IEnumerable<DeviceNode> SelfAndDescendants => Children.SelectMany(c => c.SelfAndDescendants).Prepend(this);
}
