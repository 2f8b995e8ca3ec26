using System.Net;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.NatPmp;
using PortMapper.Protocols.Pcp;

namespace PortMapper.Gateway.Upstream;

/// <summary>What the upstream said to one request.</summary>
/// <param name="Answered">An answer came (success or error); false: none in time, or the port was unreachable.</param>
/// <param name="Status">The local status a refusal becomes (<see cref="MappingStatus.Granted"/> on success).</param>
/// <param name="Detail">The upstream's result code or the failure, for logs and the API.</param>
internal readonly record struct UpstreamReply(
    bool Answered, MappingStatus Status, ushort ExternalPort, IPAddress? PublicAddress, uint LifetimeSeconds, uint EpochSeconds, string Detail)
{
    public bool Success => Answered && Status == MappingStatus.Granted;

    public static UpstreamReply NoAnswer(string detail) => new(false, MappingStatus.UpstreamFailed, 0, null, 0, 0, detail);
}

/// <summary>A port-mapping client of one protocol toward the upstream server.</summary>
internal abstract class UpstreamClient(UpstreamTransport transport, IPAddress wanAddress)
{
    protected UpstreamTransport Transport { get; } = transport;

    /// <summary>The gateway's own WAN address: the "internal" address of every upstream mapping.</summary>
    protected IPAddress WanAddress { get; } = wanAddress;

    public abstract string Name { get; }

    /// <summary>Whether answers carry the server's epoch (PCP, NAT-PMP; not UPnP IGD).</summary>
    public virtual bool HasEpoch => true;

    /// <summary>Asks for (or renews, or with lifetime 0 deletes) the mapping of the WAN address's <paramref name="port"/>.</summary>
    public abstract Task<UpstreamReply> MapAsync(UpstreamMappingKey key, uint lifetime, string description, TimeSpan deadline, CancellationToken cancellationToken);

    /// <summary>Whether the server speaks this protocol; on success the epoch and, where it can tell, the public address.</summary>
    public abstract Task<UpstreamReply> ProbeAsync(TimeSpan deadline, CancellationToken cancellationToken);
}

/// <summary>The upstream side of one lease: protocol, the WAN address's port, and the PCP nonce that names it.</summary>
internal readonly record struct UpstreamMappingKey(MappingProtocol Protocol, ushort Port, byte[] Nonce);

/// <summary>RFC 6887 client: MAP with a nonce kept per mapping, retransmitted from 3 s on, doubling with jitter (§8.1.1).</summary>
internal sealed class PcpUpstreamClient(UpstreamTransport transport, IPAddress wanAddress) : UpstreamClient(transport, wanAddress)
{
    private static readonly TimeSpan s_initialRetransmission = TimeSpan.FromSeconds(3);

    /// <summary>
    /// False once the server refused a request for its DESCRIPTION option (miniupnpd 2.3 answers MALFORMED_OPTION when
    /// the text's length is not a multiple of 4, though the option is optional): then mappings go without one.
    /// </summary>
    private volatile bool _descriptions = true;

    public override string Name => "pcp";

    public override async Task<UpstreamReply> MapAsync(UpstreamMappingKey key, uint lifetime, string description, TimeSpan deadline, CancellationToken cancellationToken)
    {
        bool described = _descriptions && description.Length > 0;
        (UpstreamReply reply, PcpResultCode? result) = await MapOnceAsync(key, lifetime, described ? description : string.Empty, deadline, cancellationToken)
            .ConfigureAwait(false);
        if (described && result is PcpResultCode.MalformedOption or PcpResultCode.UnsupportedOption)
        {
            _descriptions = false;
            (reply, _) = await MapOnceAsync(key, lifetime, string.Empty, deadline, cancellationToken).ConfigureAwait(false);
        }

        return reply;
    }

    private async Task<(UpstreamReply Reply, PcpResultCode? Result)> MapOnceAsync(UpstreamMappingKey key, uint lifetime, string description, TimeSpan deadline, CancellationToken cancellationToken)
    {
        byte protocol = (byte)key.Protocol;
        byte[] request = new byte[PcpClientCodec.MapRequestLength(System.Text.Encoding.UTF8.GetByteCount(description))];
        int length = PcpClientCodec.WriteMapRequest(request, WanAddress, key.Nonce, protocol, key.Port, key.Port, IPAddress.Any, lifetime, description);
        PcpMapAnswer answer = default;
        (bool answered, string? failure) = await Transport.ExchangeAsync(
            request[..length],
            datagram => PcpClientCodec.TryReadMapResponse(datagram, key.Nonce, protocol, key.Port, out answer),
            s_initialRetransmission,
            deadline,
            jitter: true,
            cancellationToken).ConfigureAwait(false);
        if (!answered)
        {
            return (UpstreamReply.NoAnswer(failure ?? "no answer"), null);
        }

        return (new UpstreamReply(true, Status(answer.Result), answer.ExternalPort, Public(answer.ExternalAddress), answer.LifetimeSeconds, answer.EpochSeconds,
            "pcp " + answer.Result), answer.Result);
    }

    /// <summary>
    /// A MAP of the discard port (TCP 9) with lifetime 0: it creates nothing, and a PCP server answers it with its
    /// epoch and, as most do, its external address (the way mDNSResponder learns it). A NAT-PMP-only server
    /// answers with version 0, UNSUPPORTED VERSION.
    /// </summary>
    public override async Task<UpstreamReply> ProbeAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        byte[] nonce = new byte[PcpCodec.NonceLength];
        Random.Shared.NextBytes(nonce);
        byte[] request = new byte[PcpClientCodec.MapRequestLength(0)];
        PcpClientCodec.WriteMapRequest(request, WanAddress, nonce, (byte)MappingProtocol.Tcp, 9, 9, IPAddress.Any, 0);
        PcpMapAnswer answer = default;
        bool natPmpOnly = false;
        (bool answered, string? failure) = await Transport.ExchangeAsync(
            request,
            datagram =>
            {
                natPmpOnly = PcpClientCodec.IsNatPmpOnly(datagram);
                return natPmpOnly || PcpClientCodec.TryReadMapResponse(datagram, nonce, (byte)MappingProtocol.Tcp, 9, out answer);
            },
            TimeSpan.FromMilliseconds(500),
            deadline,
            jitter: true,
            cancellationToken).ConfigureAwait(false);
        if (!answered || natPmpOnly)
        {
            return UpstreamReply.NoAnswer(natPmpOnly ? "speaks NAT-PMP only" : failure ?? "no answer");
        }

        // Any PCP answer proves a PCP server; an error still carries its epoch.
        return new UpstreamReply(true, MappingStatus.Granted, 0, answer.Result == PcpResultCode.Success ? Public(answer.ExternalAddress) : null, 0,
            answer.EpochSeconds, "pcp " + answer.Result);
    }

    private static IPAddress? Public(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? null : address;

    private static MappingStatus Status(PcpResultCode result) => result switch
    {
        PcpResultCode.Success => MappingStatus.Granted,
        PcpResultCode.NotAuthorized => MappingStatus.NotAuthorized,
        PcpResultCode.UserExceededQuota => MappingStatus.QuotaExceeded,
        PcpResultCode.NoResources => MappingStatus.NoResources,
        PcpResultCode.CannotProvideExternal => MappingStatus.CannotProvideExternal,
        _ => MappingStatus.UpstreamFailed,
    };
}

/// <summary>RFC 6886 client: requests resent from 250 ms on, doubling (§3.1); one outstanding request per port.</summary>
internal sealed class NatPmpUpstreamClient(UpstreamTransport transport, IPAddress wanAddress) : UpstreamClient(transport, wanAddress)
{
    private static readonly TimeSpan s_initialRetransmission = TimeSpan.FromMilliseconds(250);

    public override string Name => "natpmp";

    /// <summary>The public address, learnt from the external address request (NAT-PMP map answers do not carry it).</summary>
    public IPAddress? PublicAddress { get; private set; }

    public override async Task<UpstreamReply> MapAsync(UpstreamMappingKey key, uint lifetime, string description, TimeSpan deadline, CancellationToken cancellationToken)
    {
        bool tcp = key.Protocol == MappingProtocol.Tcp;
        byte[] request = new byte[NatPmpCodec.MapRequestLength];
        NatPmpClientCodec.WriteMapRequest(request, tcp, key.Port, key.Port, lifetime);
        NatPmpMapAnswer answer = default;

        // No nonce in NAT-PMP: the answer names the internal port, and a delete's answer has lifetime 0.
        (bool answered, string? failure) = await Transport.ExchangeAsync(
            request,
            datagram => NatPmpClientCodec.TryReadMapResponse(datagram, tcp, out answer)
                && (answer.InternalPort == key.Port || answer.InternalPort == 0)
                && (answer.Result != NatPmpResultCode.Success || (answer.LifetimeSeconds == 0) == (lifetime == 0)),
            s_initialRetransmission,
            deadline,
            jitter: false,
            cancellationToken).ConfigureAwait(false);
        if (!answered)
        {
            return UpstreamReply.NoAnswer(failure ?? "no answer");
        }

        return new UpstreamReply(true, Status(answer.Result), answer.ExternalPort, PublicAddress, answer.LifetimeSeconds, answer.EpochSeconds,
            "natpmp " + answer.Result);
    }

    public override async Task<UpstreamReply> ProbeAsync(TimeSpan deadline, CancellationToken cancellationToken)
    {
        byte[] request = new byte[NatPmpCodec.ExternalAddressRequestLength];
        NatPmpClientCodec.WriteExternalAddressRequest(request);
        NatPmpResultCode result = default;
        uint epoch = 0;
        IPAddress? address = null;
        (bool answered, string? failure) = await Transport.ExchangeAsync(
            request,
            datagram => NatPmpClientCodec.TryReadExternalAddressResponse(datagram, out result, out epoch, out address),
            s_initialRetransmission,
            deadline,
            jitter: false,
            cancellationToken).ConfigureAwait(false);
        if (!answered)
        {
            return UpstreamReply.NoAnswer(failure ?? "no answer");
        }

        if (result == NatPmpResultCode.Success)
        {
            PublicAddress = address;
        }

        return new UpstreamReply(true, Status(result), 0, address, 0, epoch, "natpmp " + result);
    }

    private static MappingStatus Status(NatPmpResultCode result) => result switch
    {
        NatPmpResultCode.Success => MappingStatus.Granted,
        NatPmpResultCode.NotAuthorized => MappingStatus.NotAuthorized,
        NatPmpResultCode.OutOfResources => MappingStatus.NoResources,
        _ => MappingStatus.UpstreamFailed,
    };
}
