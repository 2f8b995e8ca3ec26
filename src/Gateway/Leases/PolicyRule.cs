using System.Net;

namespace PortMapper.Gateway.Leases;

/// <summary>One allow or deny rule: it matches when all three of its ranges contain the request's values.</summary>
public sealed record PolicyRule(bool Allow, PortRange ExternalPorts, IPNetwork InternalNetwork, PortRange InternalPorts)
{
    public bool MatchesInternal(IPAddress internalAddress, ushort internalPort) =>
        InternalNetwork.Contains(internalAddress) && InternalPorts.Contains(internalPort);

    public override string ToString() => $"{(Allow ? "allow" : "deny")} {ExternalPorts} {InternalNetwork} {InternalPorts}";
}
