using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Logging;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Status;
using PortMapper.Protocols.NatPmp;
using PortMapper.Protocols.Pcp;

namespace PortMapper.Gateway.Upstream;

/// <summary>Finding the upstream server, watching its epoch, and hearing its announcements.</summary>
public sealed partial class UpstreamService
{
    private volatile int _generation;
    private DateTimeOffset _lastRestart = DateTimeOffset.MinValue;
    private volatile string? _pendingRestart;

    /// <summary>
    /// Looks for the upstream server from the current WAN address: in <c>auto</c> only when that address is not
    /// global; PCP first (a lifetime-0 MAP of the discard port), then NAT-PMP (the external address request), then
    /// UPnP IGD (one SSDP search on the WAN, then GetExternalIPAddress). What
    /// it finds, or why nothing, goes into the status; a search that found nothing is tried again later.
    /// </summary>
    private async Task SearchAsync(CancellationToken cancellationToken)
    {
        Deactivate();
        GatewaySettings settings = Settings;
        IPAddress? wan = _state.Current.ExternalAddress;
        string? needless = settings.UpstreamMode == UpstreamMode.Off ? "upstream.mode is off"
            : wan is null ? "no WAN address"
            : settings.UpstreamMode == UpstreamMode.Auto && AddressClassifier.ReservedKind(wan) is null ? "the WAN address is global"
            : null;
        if (needless is not null)
        {
            await PublishAsync(new UpstreamStatus(settings.UpstreamMode == UpstreamMode.Off ? "off" : "none", null, null, needless), null, restart: false).ConfigureAwait(false);
            return;
        }

        (IReadOnlyList<IPAddress> servers, string source) = Candidates(settings, wan!);
        if (servers.Count == 0)
        {
            await NotFoundAsync(null, $"no IPv4 default gateway on {_options.WanInterface}").ConfigureAwait(false);
            return;
        }

        var failures = new List<string>();
        foreach (IPAddress server in servers)
        {
            string? failure = await SearchAtAsync(settings, wan!, server, source, cancellationToken).ConfigureAwait(false);
            if (failure is null)
            {
                return;
            }

            failures.Add(servers.Count == 1 ? failure : $"{server}: {failure}");
        }

        await NotFoundAsync(servers.Count == 1 ? servers[0] : null, servers.Count == 1 ? $"{source}; {failures[0]}"
            : $"no port-mapping server answered at {string.Join(", ", servers)} ({source}; {string.Join("; ", failures)})").ConfigureAwait(false);
    }

    /// <summary>
    /// The servers to try: <c>upstream.server</c>; else those the WAN's DHCP lease names (RFC 7291), in its order;
    /// else the WAN's default gateway. With where they came from.
    /// </summary>
    private (IReadOnlyList<IPAddress> Servers, string Source) Candidates(GatewaySettings settings, IPAddress wan)
    {
        if (settings.UpstreamServer is { } named)
        {
            return ([named], "upstream.server");
        }

        if (DhcpPcpServers.Read(settings.UpstreamDhcpLeases ?? DhcpPcpServers.DefaultLeaseFiles(_options.WanInterface), _options.WanInterface, wan) is { } dhcp)
        {
            return (dhcp.Servers, $"DHCP option {dhcp.Option} in {dhcp.File}");
        }

        return DefaultGateway(_options.WanInterface) is { } gateway ? ([gateway], "the default gateway") : ([], "no server");
    }

    /// <summary>Looks for a port-mapping server at <paramref name="server"/>; null when found (and carrying), else why not.</summary>
    private async Task<string?> SearchAtAsync(GatewaySettings settings, IPAddress wan, IPAddress server, string source, CancellationToken cancellationToken)
    {
        UpstreamTransport transport;
        try
        {
            transport = new UpstreamTransport(_options.WanInterface, wan, server);
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode.ToString();
        }

        UpstreamClient? client = null;
        UpstreamReply found = default;
        var tried = new List<string>();
        if (settings.UpstreamMode is UpstreamMode.Auto or UpstreamMode.Pcp)
        {
            var pcp = new PcpUpstreamClient(transport, wan);
            found = await pcp.ProbeAsync(s_probeDeadline, cancellationToken).ConfigureAwait(false);
            if (found.Answered)
            {
                client = pcp;
            }
            else
            {
                tried.Add("PCP: " + found.Detail);
            }
        }

        if (client is null ? settings.UpstreamMode is UpstreamMode.Auto or UpstreamMode.NatPmp : found.PublicAddress is null)
        {
            // NAT-PMP as the server, or, next to a PCP server that did not tell its address, to learn the address.
            var natPmp = new NatPmpUpstreamClient(transport, wan);
            UpstreamReply answer = await natPmp.ProbeAsync(s_probeDeadline, cancellationToken).ConfigureAwait(false);
            if (client is null && answer.Success)
            {
                client = natPmp;
                found = answer;
            }
            else if (client is not null && answer.Success)
            {
                found = found with { PublicAddress = answer.PublicAddress };
            }
            else if (client is null)
            {
                tried.Add("NAT-PMP: " + answer.Detail);
            }
        }

        if (client is null && settings.UpstreamMode is UpstreamMode.Auto or UpstreamMode.Upnp)
        {
            // UPnP IGD last: the one SSDP search this gateway ever sends on the WAN, answered only from the server.
            (UpnpUpstreamClient? upnp, string detail) = await UpnpUpstreamClient.DiscoverAsync(
                transport, _options.WanInterface, wan, server, s_probeDeadline, cancellationToken).ConfigureAwait(false);
            UpstreamReply answer = upnp is null ? UpstreamReply.NoAnswer(detail) : await upnp.ProbeAsync(s_probeDeadline, cancellationToken).ConfigureAwait(false);
            if (upnp is not null && answer.Success)
            {
                client = upnp;
                found = answer;
            }
            else
            {
                upnp?.Dispose();
                tried.Add("UPnP: " + answer.Detail);
            }
        }

        if (client is null)
        {
            transport.Dispose();
            return string.Join("; ", tried);
        }

        DateTimeOffset now = _time.GetUtcNow();
        _searchFailures = 0;
        _checkFailures = 0;
        lock (_lock)
        {
            _transport = transport;
            _client = client;
            _generation++;
            _lastEpoch = client.HasEpoch ? (found.EpochSeconds, now) : null;
        }

        _listener = client.HasEpoch ? AnnouncementListener.TryStart(_options.WanInterface, wan, server, OnAnnouncement, _logger) : null;
        _nextCheck = now + s_check;
        Log.UpstreamFound(_logger, client.Name, server, found.PublicAddress, source);
        await PublishAsync(new UpstreamStatus(client.Name, server, client.HasEpoch ? found.EpochSeconds : null, $"mappings carried to {server} (from {source})"), found.PublicAddress, restart: false)
            .ConfigureAwait(false);

        // Leases the table holds already (restored at start, or from before a WAN change) are carried too.
        if (_engine is not null)
        {
            lock (_lock)
            {
                foreach (Lease lease in _engine.Leases())
                {
                    if (Carries(lease) && lease.IsLive(now))
                    {
                        Ensure(EntryFor(lease), s_renewDeadline);
                    }
                }
            }
        }

        return null;
    }

    private Task NotFoundAsync(IPAddress? server, string detail)
    {
        TimeSpan wait = s_searchBackoff[Math.Min(_searchFailures, s_searchBackoff.Length - 1)];
        _searchFailures++;
        _nextSearch = _time.GetUtcNow() + wait;
        string reason = server is null ? detail : $"no port-mapping server answered at {server} ({detail})";
        Log.UpstreamNotFound(_logger, reason, (int)wait.TotalSeconds);
        return PublishAsync(new UpstreamStatus("none", server, null, reason), null, restart: false);
    }

    /// <summary>Once a minute while carrying: the server still answers, its epoch goes on, its address stays.</summary>
    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        _nextCheck = _time.GetUtcNow() + s_check;
        UpstreamClient? client = _client;
        if (client is null)
        {
            return;
        }

        if (_pendingRestart is { } pending)
        {
            Restarted(pending, null);
        }

        // The WAN's DHCP lease may have named another server since (a renewal, or the lease gone).
        GatewaySettings settings = Settings;
        if (settings.UpstreamServer is null && _state.Current.ExternalAddress is { } wan && _transport?.Server.Address is { } current)
        {
            (IReadOnlyList<IPAddress> servers, string source) = Candidates(settings, wan);
            if (servers.Count > 0 && !servers.Contains(current))
            {
                Log.UpstreamServerChanged(_logger, current, servers[0], source);
                _searchWanted = true;
                return;
            }
        }

        UpstreamReply answer = await client.ProbeAsync(s_probeDeadline, cancellationToken).ConfigureAwait(false);
        if (!answer.Answered)
        {
            if (++_checkFailures >= 3)
            {
                Log.UpstreamSilent(_logger, client.Name, _checkFailures);
                _searchWanted = true;
            }

            return;
        }

        _checkFailures = 0;
        if (client.HasEpoch)
        {
            NoteEpoch(answer.EpochSeconds, _time.GetUtcNow());
        }
        else if (client is UpnpUpstreamClient upnp && AnyMapped() is { } key
            && await upnp.HoldsAsync(key, s_probeDeadline, cancellationToken).ConfigureAwait(false) == false)
        {
            // IGD has no epoch: a mapping it no longer holds says it restarted.
            Restarted($"it no longer holds the mapping of {key.Protocol} {key.Port}", null);
            return;
        }

        if (answer.PublicAddress is { } address && !address.Equals(_state.Current.PublicAddress))
        {
            Restarted($"its public address is now {address}", address);
        }
    }

    private UpstreamMappingKey? AnyMapped()
    {
        lock (_lock)
        {
            foreach (UpstreamEntry entry in _entries.Values)
            {
                if (entry.Mapped && entry.Generation == _generation)
                {
                    return entry.Key;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// RFC 6887 §8.5 (and RFC 6886 §3.6): the server lost its state if its epoch went back, or moved on more than
    /// 1/16 (plus 2 s) away from the time that passed here since its last answer.
    /// </summary>
    private void NoteEpoch(uint epoch, DateTimeOffset now)
    {
        string? lost = null;
        lock (_lock)
        {
            if (_lastEpoch is { } last)
            {
                lost = EpochLost(last.Epoch, last.At, epoch, now);
            }

            _lastEpoch = (epoch, now);
        }

        if (lost is not null)
        {
            Restarted(lost, null);
        }
    }

    /// <summary>Why an epoch of <paramref name="epoch"/> at <paramref name="now"/> after <paramref name="last"/> at <paramref name="lastAt"/> means lost state, or null.</summary>
    internal static string? EpochLost(uint last, DateTimeOffset lastAt, uint epoch, DateTimeOffset now)
    {
        double client = (now - lastAt).TotalSeconds;
        double server = (double)epoch - last;
        if (epoch + 1L < last)
        {
            return string.Create(CultureInfo.InvariantCulture, $"its epoch went back from {last} to {epoch} s");
        }

        return client + 2 < server - (server / 16) || server + 2 < client - (client / 16)
            ? string.Create(CultureInfo.InvariantCulture, $"its epoch moved {server:F0} s in {client:F0} s")
            : null;
    }

    /// <summary>The upstream lost its mappings (restart) or moved them (new address): every one is asked for again, and LAN clients hear of it.</summary>
    private void Restarted(string reason, IPAddress? newAddress)
    {
        UpstreamClient? client = _client;
        DateTimeOffset at = _time.GetUtcNow();
        if (client is null)
        {
            return;
        }

        if (at - _lastRestart < s_restartInterval)
        {
            // Too soon after the last: done once the interval has passed (by the check, brought forward).
            _pendingRestart = reason;
            _nextCheck = _lastRestart + s_restartInterval;
            _wake.TrySetResult();
            return;
        }

        _lastRestart = at;
        _pendingRestart = null;
        int count;
        lock (_lock)
        {
            _generation++;
            DateTimeOffset now = _time.GetUtcNow();
            count = 0;
            foreach (UpstreamEntry entry in _entries.Values)
            {
                entry.Mapped = false;
                if (entry.LocalExpires is null || entry.LocalExpires > now)
                {
                    Ensure(entry, s_renewDeadline);
                    count++;
                }
            }
        }

        Log.UpstreamRestarted(_logger, client.Name, reason, count);
        UpstreamStatus status = _state.Current.Upstream with { EpochSeconds = _lastEpoch?.Epoch };
        _ = PublishAsync(status, newAddress ?? _state.Current.PublicAddress, restart: true);
    }

    /// <summary>An announcement from the upstream server on the WAN (224.0.0.1:5350 or unicast): PCP ANNOUNCE or NAT-PMP's address.</summary>
    private void OnAnnouncement(ReadOnlySpan<byte> datagram)
    {
        if (_client is not { HasEpoch: true })
        {
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        if (PcpClientCodec.TryReadHeader(datagram, out PcpOpcode opcode, out PcpResultCode result, out _, out uint epoch))
        {
            if (opcode == PcpOpcode.Announce && result == PcpResultCode.Success)
            {
                Log.UpstreamAnnounced(_logger, "pcp", epoch);
                NoteEpoch(epoch, now);
            }

            return;
        }

        if (NatPmpClientCodec.TryReadExternalAddressResponse(datagram, out NatPmpResultCode code, out epoch, out IPAddress? address)
            && code == NatPmpResultCode.Success)
        {
            Log.UpstreamAnnounced(_logger, "natpmp", epoch);
            NoteEpoch(epoch, now);
            if (address is not null && _client is NatPmpUpstreamClient && !address.Equals(_state.Current.PublicAddress))
            {
                Restarted($"it announced the public address {address}", address);
            }
        }
    }

    private void Deactivate()
    {
        _listener?.Dispose();
        _listener = null;
        lock (_lock)
        {
            (_client as UpnpUpstreamClient)?.Dispose();
            _client = null;
            _transport?.Dispose();
            _transport = null;
            _entries.Clear();
            _renewals.Clear();
            _deleting.Clear();
            _lastEpoch = null;
        }
    }

    private async Task PublishAsync(UpstreamStatus status, IPAddress? publicAddress, bool restart)
    {
        if (_engine is not null)
        {
            await _engine.SetUpstreamAsync(status, publicAddress, restart).ConfigureAwait(false);
        }

        PublishMetrics();
    }

    /// <summary>The IPv4 default gateway through <paramref name="wanInterface"/>, from the kernel's routing table.</summary>
    internal static IPAddress? DefaultGateway(string wanInterface, string routes = "/proc/net/route")
    {
        try
        {
            foreach (string line in File.ReadLines(routes).Skip(1))
            {
                string[] fields = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (fields.Length > 3 && fields[0] == wanInterface && fields[1] == "00000000"
                    && uint.TryParse(fields[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint gateway) && gateway != 0)
                {
                    // /proc/net/route prints the address in host order (little-endian here): its bytes are the address's.
                    return new IPAddress(BitConverter.GetBytes(gateway));
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }
}
