using System.Net;

namespace PortMapper.Protocols.Mapping;

/// <summary>A granted mapping as a protocol handler may read it (the lease table's leases are such views).</summary>
public interface IMappingView
{
    long Id { get; }

    MappingProtocol Protocol { get; }

    ushort ExternalPort { get; }

    IPAddress InternalAddress { get; }

    ushort InternalPort { get; }

    /// <summary>The address that asked for the mapping.</summary>
    IPAddress Client { get; }

    IPEndPoint? RemotePeer { get; }

    MappingOrigin Origin { get; }

    string Description { get; }

    byte[]? Nonce { get; }

    IReadOnlyList<MappingFilter> FilterList { get; }

    /// <summary>Null for a permanent mapping.</summary>
    DateTimeOffset? Expires { get; }

    /// <summary>An IPv6 pinhole (no translation) rather than an IPv4 mapping.</summary>
    bool IsPinhole { get; }

    uint SecondsLeft(DateTimeOffset now);
}
