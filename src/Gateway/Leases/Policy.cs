using System.Net;

namespace PortMapper.Gateway.Leases;

/// <summary>Ordered allow/deny rules: the first rule that matches decides; when none matches, the answer is no.</summary>
public sealed class Policy
{
    private readonly PolicyRule[] _rules;

    public Policy(IEnumerable<PolicyRule> rules)
    {
        _rules = [.. rules];
    }

    public IReadOnlyList<PolicyRule> Rules => _rules;

    /// <summary>The default: every LAN subnet may map unprivileged ports to unprivileged ports.</summary>
    public static Policy ForLanSubnets(IEnumerable<IPNetwork> subnets) =>
        new(subnets.Select(s => new PolicyRule(true, PortRange.Unprivileged, s, PortRange.Unprivileged)));

    public bool Permits(ushort externalPort, IPAddress internalAddress, ushort internalPort)
    {
        foreach (PolicyRule rule in _rules)
        {
            if (rule.ExternalPorts.Contains(externalPort) && rule.MatchesInternal(internalAddress, internalPort))
            {
                return rule.Allow;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether some external port could be permitted for this internal endpoint: some allow rule matches it
    /// and is not wholly hidden behind an earlier deny rule for the same endpoint.
    /// </summary>
    public bool MayPermit(IPAddress internalAddress, ushort internalPort)
    {
        var denied = new List<PortRange>();
        foreach (PolicyRule rule in _rules)
        {
            if (!rule.MatchesInternal(internalAddress, internalPort))
            {
                continue;
            }

            if (!rule.Allow)
            {
                denied.Add(rule.ExternalPorts);
            }
            else if (!denied.Any(d => d.Low <= rule.ExternalPorts.Low && d.High >= rule.ExternalPorts.High))
            {
                return true;
            }
        }

        return false;
    }
}
