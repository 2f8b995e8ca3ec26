using System.Net;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Status;

namespace PortMapper.Gateway.Engine;

/// <summary>The external address and its epoch, as the engine publishes them (RFC 6886 §3.6).</summary>
public sealed partial class MappingEngine
{
    private bool ChangeExternalAddress(IPAddress? address, DateTimeOffset now)
    {
        GatewayStatus current = _state.Current;
        if (Equals(current.ExternalAddress, address))
        {
            return false;
        }

        Log.ExternalAddressChanged(_logger, current.ExternalAddress, address);
        ReportExternalAddress(address);

        // RFC 6886 §3.6: a new external address starts a new epoch, so clients notice and renew their mappings.
        _store.RecordEpoch(now, address);
        PublishStatus(address, now, current.KernelInSync);

        // The upstream is looked for again from the new address (its mappings named the old one).
        _upstream?.WanChanged();

        // The caller rebuilds: one transaction moves everything (the DNAT match and the SNAT of PEER mappings name the address).
        return true;
    }

    /// <summary>
    /// The upstream search's result. Clients are told when the address they see changes; a new epoch starts when the
    /// upstream lost or moved its mappings, or a public address they were told gives way to another (RFC 6886 §3.6:
    /// clients then ask again for their mappings).
    /// </summary>
    private bool ChangeUpstream(UpstreamStatus upstream, IPAddress? publicAddress, bool restart, DateTimeOffset now)
    {
        GatewayStatus current = _state.Current;
        bool moved = !Equals(current.PublicAddress, publicAddress);
        bool newEpoch = restart || (moved && current.PublicAddress is not null);
        if (newEpoch)
        {
            _store.RecordEpoch(now, current.ExternalAddress);
        }

        _state.Update(current with { PublicAddress = publicAddress, Upstream = upstream, EpochStart = newEpoch ? now : current.EpochStart });
        if (moved && publicAddress is not null)
        {
            Log.PublicAddress(_logger, publicAddress, upstream.Server);
        }

        return newEpoch || moved;
    }

    private void PublishStatus(IPAddress? external, DateTimeOffset epochStart, bool kernelInSync)
    {
        string? reserved = external is null ? null : AddressClassifier.ReservedKind(external);
        _state.Update(_state.Current with
        {
            ExternalAddress = external,
            ExternalAddressReservedKind = reserved,
            EpochStart = epochStart,
            KernelInSync = kernelInSync,
            LeaseCount = _table.Count,
        });
    }

    private void ReportExternalAddress(IPAddress? external)
    {
        Log.ExternalAddress(_logger, external, _options.WanInterface);
        if (external is not null && AddressClassifier.ReservedKind(external) is { } kind)
        {
            Log.ExternalAddressReserved(_logger, external, kind);
        }
    }
}
