using PortMapper.KernelBackend.Netlink;
using System.Net;
using System.Text;
using PortMapper.KernelBackend.Native;

namespace PortMapper.KernelBackend.Nftables;

/// <summary>
/// Programs the daemon's own nftables table through libnftables. Each call is one kernel transaction.
/// After a <see cref="FirewallException"/> from <see cref="Apply"/>, call <see cref="Rebuild"/>.
/// </summary>
public sealed class NftablesBackend : IFirewallBackend, IMediaFirewall, IOpenNat, ITrafficCounters, IDisposable
{
    private readonly FirewallOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly NftablesSession _session = new();
    private readonly ForwardUsers _forwards = new();
    private readonly OutboundUsers _outbound = new();
    private readonly StringBuilder _text = new(1024);
    private NftablesMonitor? _monitor;

    // Open media ports and until when the kernel holds them, so that a rebuilt table has them too.
    private readonly Dictionary<MediaOpening, DateTimeOffset> _media = [];
    private IPAddress? _externalAddress;

    // The Open NAT devices, so that a rebuilt table has them too.
    private ulong[] _openNatMacs = [];
    private IPAddress[] _openNatAddresses = [];
    private bool _built;

    public NftablesBackend(FirewallOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
    }

    public void Rebuild(IPAddress? externalAddress, IReadOnlyCollection<PortMapping> mappings)
    {
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            _forwards.Clear();
            _outbound.Clear();
            foreach (PortMapping m in mappings)
            {
                _forwards.Attach(m.Id, NftablesRuleset.ForwardKeys(m), now + m.Timeout);
                AttachOutbound(m, externalAddress, now);
            }

            var build = new StringBuilder(NftablesRuleset.Build(_options, externalAddress, mappings, _forwards.Entries(now), _outbound.Entries(now), LiveMedia(now)));
            NftablesRuleset.AppendOpenNatDevices(build, _options.TableName, _openNatMacs, _openNatAddresses);
            string text = NftablesRuleset.MergeElements(build.ToString());
            try
            {
                _session.Run(text);
            }
            catch (FirewallException)
            {
                _forwards.Clear();
                _outbound.Clear();
                throw;
            }

            _forwards.CommitKernelState(now);
            _outbound.CommitKernelState(now);
            _externalAddress = externalAddress;
            _built = true;
        }

        // Parsing a large batch makes libnftables allocate tens of MB that glibc would otherwise keep.
        NativeMemory.Trim();
    }

    public void Apply(IReadOnlyList<FirewallChange> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            string table = _options.TableName;
            _text.Clear();
            _forwards.BeginBatch();
            _outbound.BeginBatch();
            foreach (FirewallChange change in changes)
            {
                PortMapping m = change.Mapping;
                if (change.Kind != FirewallChangeKind.Add)
                {
                    NftablesRuleset.AppendDeleteTranslation(_text, table, m);
                }

                _forwards.Detach(m.Id);
                _outbound.Detach(m.Id);
                if (change.Kind != FirewallChangeKind.Remove)
                {
                    NftablesRuleset.AppendTranslation(_text, table, m, _externalAddress);
                    _forwards.Attach(m.Id, NftablesRuleset.ForwardKeys(m), now + m.Timeout);
                    AttachOutbound(m, _externalAddress, now);
                }
            }

            _forwards.AppendKernelChanges(_text, table, now);
            _outbound.AppendKernelChanges(_text, table, now);
            try
            {
                _session.Run(_text.ToString());
            }
            catch (FirewallException)
            {
                // Refused as a whole: the kernel holds what it held, and so must our record of who uses what, or the
                // refused batch's entries would come back in every later batch (and be refused with it).
                _forwards.Rollback();
                _outbound.Rollback();
                throw;
            }

            _forwards.CommitKernelState(now);
            _outbound.CommitKernelState(now);
        }
    }

    private void AttachOutbound(PortMapping m, IPAddress? externalAddress, DateTimeOffset now)
    {
        if (_options.PreservePorts && NftablesRuleset.OutboundElement(m, externalAddress) is { } element)
        {
            _outbound.Attach(m.Id, element.Key, element.Value, now + m.Timeout);
        }
    }

    public int OpenMediaCount
    {
        get
        {
            lock (_lock)
            {
                DateTimeOffset now = _time.GetUtcNow();
                return _media.Values.Count(e => e > now);
            }
        }
    }

    public void OpenMedia(IReadOnlyCollection<MediaOpening> openings, TimeSpan timeout)
    {
        if (openings.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            _text.Clear();
            foreach (MediaOpening m in openings)
            {
                NftablesRuleset.AppendOpenMedia(_text, _options.TableName, m, timeout);
            }

            _session.Run(_text.ToString());
            DateTimeOffset expires = _time.GetUtcNow() + timeout;
            foreach (MediaOpening m in openings)
            {
                _media[m] = expires;
            }
        }
    }

    public void CloseMedia(IReadOnlyCollection<MediaOpening> openings)
    {
        lock (_lock)
        {
            _text.Clear();
            foreach (MediaOpening m in openings)
            {
                if (_media.Remove(m))
                {
                    NftablesRuleset.AppendCloseMedia(_text, _options.TableName, m);
                }
            }

            if (_text.Length > 0)
            {
                _session.Run(_text.ToString());
            }
        }
    }

    /// <summary>The media ports still open, with the time they have left; forgets the lapsed ones.</summary>
    private List<(MediaOpening, TimeSpan)> LiveMedia(DateTimeOffset now)
    {
        var live = new List<(MediaOpening, TimeSpan)>(_media.Count);
        foreach (var (opening, expires) in _media.ToList())
        {
            if (expires <= now)
            {
                _media.Remove(opening);
            }
            else
            {
                live.Add((opening, expires - now));
            }
        }

        return live;
    }

    public void SetOpenNatDevices(IReadOnlyCollection<ulong> macs, IReadOnlyCollection<IPAddress> addresses)
    {
        lock (_lock)
        {
            _openNatMacs = [.. macs];
            _openNatAddresses = [.. addresses];
            if (!_built)
            {
                return; // the first build puts them in
            }

            // An element can expire between the listing and the delete, which fails the transaction: list again.
            string? failure = null;
            for (int attempt = 0; attempt < 3; attempt++)
            {
                _text.Clear();
                string table = _options.TableName;
                NftablesRuleset.AppendOpenNatDevices(_text, table, _openNatMacs, _openNatAddresses);
                var gone = new HashSet<IPAddress>();
                if (_session.TryRun(NftablesRuleset.ListMap(table, NftablesRuleset.OpenNatHostMap), out string hosts))
                {
                    foreach ((IPAddress address, ulong mac) in NftablesRuleset.ParseOpenNatHosts(hosts))
                    {
                        bool stays = mac == 0 ? _openNatAddresses.Contains(address) : _openNatMacs.Contains(mac);
                        if (!stays && gone.Add(address))
                        {
                            _text.Append(System.Globalization.CultureInfo.InvariantCulture, $"delete element inet {table} {NftablesRuleset.OpenNatHostMap} {{ {address} }}\n");
                        }
                    }
                }

                // A device that is no longer one loses its endpoint mappings now, not at their idle timeout.
                if (gone.Count > 0 && _session.TryRun(NftablesRuleset.ListMap(table, NftablesRuleset.OpenNatMap), out string mappings))
                {
                    foreach (OpenNatMapping m in NftablesRuleset.ParseOpenNatMappings(mappings).Where(m => gone.Contains(m.InternalAddress)))
                    {
                        _text.Append(System.Globalization.CultureInfo.InvariantCulture, $"delete element inet {table} {NftablesRuleset.OpenNatMap} {{ {m.ExternalPort} }}\n");
                    }
                }

                if (gone.Count > 0 && _session.TryRun(NftablesRuleset.ListMap(table, NftablesRuleset.OpenNatOutMap), out string outbound))
                {
                    foreach ((IPAddress address, ushort port) in NftablesRuleset.ParseOpenNatEndpoints(outbound).Where(e => gone.Contains(e.Address)))
                    {
                        _text.Append(System.Globalization.CultureInfo.InvariantCulture, $"delete element inet {table} {NftablesRuleset.OpenNatOutMap} {{ {address} . {port} }}\n");
                    }
                }

                if (_session.TryRun(_text.ToString(), out failure))
                {
                    return;
                }
            }

            throw new FirewallException(failure?.Trim() ?? "cannot set the Open NAT devices");
        }
    }

    public IReadOnlyList<OpenNatMapping> OpenNatMappings()
    {
        lock (_lock)
        {
            return _built && _session.TryRun(NftablesRuleset.ListMap(_options.TableName, NftablesRuleset.OpenNatMap), out string output)
                ? NftablesRuleset.ParseOpenNatMappings(output)
                : [];
        }
    }

    public IReadOnlyDictionary<(IPAddress Address, TransportProtocol Protocol, ushort Port), (ulong Packets, ulong Bytes)> ForwardTraffic()
    {
        lock (_lock)
        {
            return _built && _session.TryRun($"list set inet {_options.TableName} {NftablesRuleset.ForwardSet}", out string output)
                ? NftablesRuleset.ParseForwardTraffic(output)
                : new Dictionary<(IPAddress, TransportProtocol, ushort), (ulong, ulong)>();
        }
    }

    public IReadOnlyList<(IPAddress Address, ulong Mac)> OpenNatHosts()
    {
        lock (_lock)
        {
            return _built && _session.TryRun(NftablesRuleset.ListMap(_options.TableName, NftablesRuleset.OpenNatHostMap), out string output)
                ? NftablesRuleset.ParseOpenNatHosts(output)
                : [];
        }
    }

    public Task WaitForOutsideChangeAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _monitor ??= new NftablesMonitor(_options.TableName, NftablesRuleset.SentinelSet);
        }

        return _monitor.WaitForLossAsync(cancellationToken);
    }

    public bool IsIntact()
    {
        lock (_lock)
        {
            return _session.TryRun(NftablesRuleset.Probe(_options.TableName), out string output)
                && output.Contains("127.0.0.1", StringComparison.Ordinal);
        }
    }

    public ulong? PacketCount(PortMapping mapping)
    {
        ulong total = 0;
        bool found = false;
        lock (_lock)
        {
            foreach (ForwardKey key in NftablesRuleset.ForwardKeys(mapping))
            {
                if (!NftablesRuleset.IsCounted(key.Set))
                {
                    continue;
                }

                if (_session.TryRun(NftablesRuleset.GetElement(_options.TableName, key), out string output) && NftablesRuleset.TryReadPackets(output, out ulong packets))
                {
                    total += packets;
                    found = true;
                }
            }
        }

        return found ? total : null;
    }

    /// <summary>Whether the running kernel has a conntrack helper of this type (the out-of-tree "rtsp", say); tried in a scratch table.</summary>
    public static bool KernelHasHelper(string type)
    {
        using var session = new NftablesSession();
        return session.TryRun(NftablesRuleset.HelperProbe($"portmapper_probe_{Environment.ProcessId}", type), out _);
    }

    public void Dispose()
    {
        _session.Dispose();
        _monitor?.Dispose();
    }
}
