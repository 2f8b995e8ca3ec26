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

        // The caller rebuilds: one transaction moves everything (the DNAT match and the SNAT of PEER mappings name the address).
        return true;
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
