using System.Globalization;
using System.Net;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Upstream;

/// <summary>One lease as carried upstream: what was asked, what the upstream answered, when to renew.</summary>
internal sealed class UpstreamEntry(long leaseId, MappingProtocol protocol, ushort port, byte[] nonce, MappingOrigin origin)
{
    public long LeaseId { get; } = leaseId;

    public MappingProtocol Protocol { get; } = protocol;

    /// <summary>The lease's external port: the port of the WAN address the upstream maps to.</summary>
    public ushort Port { get; } = port;

    public MappingOrigin Origin { get; } = origin;

    public UpstreamMappingKey Key { get; } = new(protocol, port, nonce);

    public DateTimeOffset? LocalExpires { get; set; }

    public string Description { get; set; } = string.Empty;

    /// <summary>The request running for it, whose answer a waiting LAN client gets.</summary>
    public Task<UpstreamReply>? Running { get; set; }

    /// <summary>A change came while a request ran: it runs once more.</summary>
    public bool Again { get; set; }

    public bool Removed { get; set; }

    public bool Mapped { get; set; }

    /// <summary>Kept locally although the upstream refused it (<c>upstream.required: false</c>).</summary>
    public bool LocalOnly { get; set; }

    /// <summary>The upstream search (or restart) its mapping belongs to; an older one is asked for again.</summary>
    public int Generation { get; set; } = -1;

    public UpstreamReply Last { get; set; }

    public string? Failure { get; set; }

    public ushort ExternalPort { get; set; }

    public DateTimeOffset UpstreamExpires { get; set; } = DateTimeOffset.MinValue;

    public DateTimeOffset RenewAt { get; set; } = DateTimeOffset.MaxValue;

    public string Describe(IPAddress? publicAddress)
    {
        if (Mapped)
        {
            string at = publicAddress is null
                ? ExternalPort.ToString(CultureInfo.InvariantCulture)
                : new IPEndPoint(publicAddress, ExternalPort).ToString();
            return "mapped " + at;
        }

        if (LocalOnly)
        {
            return "local only: " + Failure;
        }

        return Failure is null ? "pending" : "failed: " + Failure;
    }
}
