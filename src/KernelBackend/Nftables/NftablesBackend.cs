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
            AttachAll(externalAddress, mappings, now);
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

    /// <summary>
    /// The boot, the network namespace, the nftables generation (<paramref name="generation"/>, else read now) and a
    /// hash of the table's shape for these options and this external address: equal stamps at a stop and at the
    /// next start mean nobody committed anything to the ruleset in between, so the table is as the daemon left it.
    /// </summary>
    public string? Stamp(IPAddress? externalAddress) => Stamp(externalAddress, null);

    private string? Stamp(IPAddress? externalAddress, uint? generation)
    {
        uint? current = generation ?? NftablesGeneration.Read();
        string? boot = ReadTrimmed("/proc/sys/kernel/random/boot_id");
        string? netns = null;
        try
        {
            netns = new FileInfo("/proc/self/ns/net").LinkTarget; // "net:[inode]"
        }
        catch (IOException)
        {
        }

        if (current is null || boot is null || netns is null)
        {
            return null;
        }

        byte[] shape = System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(NftablesRuleset.Build(_options, externalAddress, [], [])));
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{boot} {netns} {current} {Convert.ToHexString(shape)}");
    }

    /// <summary>
    /// Takes over the table the previous run left when its stamp still holds and its sentinel is there: the
    /// mappings' entries are in the kernel already (each with the timeout it was given), so only the daemon's own
    /// record of them is made, and one small transaction empties the media sets (their RTSP sessions did not survive
    /// the restart) and puts the Open NAT devices in, as a rebuild would.
    /// </summary>
    public string? Adopt(uint? generationAtStart, string stamp, IPAddress? externalAddress, IReadOnlyCollection<PortMapping> mappings)
    {
        string? current = generationAtStart is null ? null : Stamp(externalAddress, generationAtStart);
        string[] left = stamp.Split(' '), found = current?.Split(' ') ?? [];
        string? refusal = found.Length != 4 || left.Length != 4 ? "the kernel's state cannot be told"
            : left[0] != found[0] ? "the machine was restarted"
            : left[1] != found[1] ? "another network namespace"
            : left[2] != found[2] ? $"the ruleset changed since the stop (generation {left[2]}, now {found[2]})"
            : left[3] != found[3] ? "the table's shape differs (other settings or interfaces)"
            : !IsIntact() ? "the table or its sentinel is gone"
            : null;
        if (refusal is not null)
        {
            return refusal;
        }

        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            AttachAll(externalAddress, mappings, now);
            _text.Clear();
            string table = _options.TableName;
            _text.Append(System.Globalization.CultureInfo.InvariantCulture, $"flush map inet {table} {NftablesRuleset.MediaMap}\n");
            _text.Append(System.Globalization.CultureInfo.InvariantCulture, $"flush set inet {table} {NftablesRuleset.MediaForwardSet}\n");
            _text.Append(System.Globalization.CultureInfo.InvariantCulture, $"flush set inet {table} {NftablesRuleset.MediaSet6}\n");

            NftablesRuleset.AppendOpenNatDevices(_text, table, _openNatMacs, _openNatAddresses);
            if (!_session.TryRun(_text.ToString(), out string error))
            {
                _forwards.Clear();
                _outbound.Clear();
                return "the kernel refused: " + error.Trim();
            }

            _forwards.CommitKernelState(now);
            _outbound.CommitKernelState(now);
            _media.Clear();
            _externalAddress = externalAddress;
            _built = true;
            return null;
        }
    }

    private void AttachAll(IPAddress? externalAddress, IReadOnlyCollection<PortMapping> mappings, DateTimeOffset now)
    {
        _forwards.Clear();
        _outbound.Clear();
        foreach (PortMapping m in mappings)
        {
            _forwards.Attach(m.Id, NftablesRuleset.ForwardKeys(m), now + m.Timeout);
            AttachOutbound(m, externalAddress, now);
        }
    }

    private static string? ReadTrimmed(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return null;
        }
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
