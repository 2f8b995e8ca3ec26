using System.Net;

namespace PortMapper.Protocols.Pcp;

/// <summary>
/// Gateway facts and settings a PCP answer depends on. <see cref="IsThirdPartyTarget"/> says whether a
/// THIRD_PARTY address names a host on the LAN the request came from (never the gateway itself).
/// </summary>
public readonly record struct PcpContext(
    IPAddress? ExternalAddress,
    uint EpochSeconds,
    bool AllowThirdParty,
    int MaxFilters,
    Func<IPAddress, bool> IsThirdPartyTarget);
