using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>
/// What the gateway asks of the kernel. Implementations apply each call atomically: all of it or none of it.
/// </summary>
public interface IFirewallBackend
{
    /// <summary>Replaces everything the daemon owns in the kernel with exactly these mappings and this external address.</summary>
    void Rebuild(IPAddress? externalAddress, IReadOnlyCollection<PortMapping> mappings);

    /// <summary>Applies incremental changes. Throws <see cref="FirewallException"/> when the kernel refuses them.</summary>
    void Apply(IReadOnlyList<FirewallChange> changes);

    /// <summary>False when the daemon's table or its rules are gone, for example after a firewall reload.</summary>
    bool IsIntact();

    /// <summary>
    /// Completes when something outside the daemon may have taken part of its table away (the kernel's own change
    /// notifications), so that <see cref="IsIntact"/> is worth asking; a backend without notifications never
    /// completes it.
    /// </summary>
    Task WaitForOutsideChangeAsync(CancellationToken cancellationToken);

    /// <summary>Packets admitted through a pinhole's forward entries since they were installed; null when they are not there.</summary>
    ulong? PacketCount(PortMapping mapping);
}
