namespace PortMapper.Gateway.Engine;

internal enum EngineWorkKind : byte
{
    Mapping,
    Revoke,
    ExternalAddress,
    Sweep,
    Rebuild,
    Reconfigure,

    /// <summary>A device's permission changed: revoke the leases of devices that may no longer map ports.</summary>
    EnforceDevices,

    /// <summary>The upstream search's result: its status, the public address, and whether a new epoch starts.</summary>
    Upstream,
}
