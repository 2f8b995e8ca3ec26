using System.Net;

namespace PortMapper.KernelBackend;

/// <summary>
/// What the gateway asks of the kernel. Implementations apply each call atomically: all of it or none of it.
/// </summary>
public interface IFirewallBackend
{
    /// <summary>Replaces everything the daemon owns in the kernel with exactly these mappings and this external address.</summary>
    void Rebuild(IPAddress? externalAddress, IReadOnlyCollection<PortMapping> mappings);

    /// <summary>
    /// What identifies the kernel's state as the daemon leaves it (null: this backend cannot tell), kept across a
    /// restart so that the next start can <see cref="Adopt"/> the table instead of rebuilding it.
    /// </summary>
    string? Stamp(IPAddress? externalAddress) => null;

    /// <summary>
    /// Takes over the table the previous run left, with exactly these mappings, when <paramref name="stamp"/> (its
    /// <see cref="Stamp"/> at the stop) still describes the kernel as found at start (<paramref name="generationAtStart"/>);
    /// else why not (null: taken over), and the caller rebuilds.
    /// </summary>
    string? Adopt(uint? generationAtStart, string stamp, IPAddress? externalAddress, IReadOnlyCollection<PortMapping> mappings) => "this backend cannot take a table over";

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
