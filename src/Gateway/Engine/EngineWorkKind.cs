namespace PortMapper.Gateway.Engine;

internal enum EngineWorkKind : byte
{
    Mapping,
    Revoke,
    ExternalAddress,
    Sweep,
    Rebuild,
    Reconfigure,
}
