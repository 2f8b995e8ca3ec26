using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.KernelBackend.Native;

namespace PortMapper.KernelBackend.Nftables;

/// <summary>
/// Programs the daemon's own nftables table through libnftables. Each call is one kernel transaction.
/// After a <see cref="FirewallException"/> from <see cref="Apply"/>, call <see cref="Rebuild"/>.
/// </summary>
/// <remarks>
/// Forward-accept entries are keyed by internal endpoint, which several mappings may share (two external
/// ports to one service). The backend counts the users of each entry and keeps the entry's timeout at
/// least as long as its longest-lived user.
/// </remarks>
public sealed class NftablesBackend : IFirewallBackend, IDisposable
{
    private readonly FirewallOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly NftablesSession _session = new();
    private readonly ForwardUsers _forwards = new();
    private readonly StringBuilder _text = new(1024);

    public NftablesBackend(FirewallOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
    }

    public void Rebuild(IPAddress? externalAddress, IReadOnlyCollection<PortMapping> mappings)
    {
        foreach (PortMapping m in mappings)
        {
            EnsureIPv4(m);
        }

        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            _forwards.Clear();
            foreach (PortMapping m in mappings)
            {
                _forwards.Attach(m, now);
            }

            string text = NftablesRuleset.Build(_options, externalAddress, mappings, _forwards.Entries(now));
            try
            {
                _session.Run(text);
            }
            catch (FirewallException)
            {
                _forwards.Clear();
                throw;
            }

            _forwards.CommitKernelState(now);
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
            foreach (FirewallChange change in changes)
            {
                PortMapping m = change.Mapping;
                EnsureIPv4(m);
                if (change.Kind != FirewallChangeKind.Add)
                {
                    NftablesRuleset.AppendDeleteNat(_text, table, m.Protocol, m.ExternalPort);
                }

                _forwards.Detach(m.Protocol, m.ExternalPort);
                if (change.Kind != FirewallChangeKind.Remove)
                {
                    NftablesRuleset.AppendAddNat(_text, table, m);
                    _forwards.Attach(m, now);
                }
            }

            _forwards.AppendKernelChanges(_text, table, now);
            _session.Run(_text.ToString());
            _forwards.CommitKernelState(now);
        }
    }

    public void SetExternalAddress(IPAddress? externalAddress)
    {
        lock (_lock)
        {
            _text.Clear();
            NftablesRuleset.AppendSetExternalAddress(_text, _options.TableName, externalAddress);
            _session.Run(_text.ToString());
        }
    }

    public bool IsIntact()
    {
        lock (_lock)
        {
            return _session.TryRun(NftablesRuleset.Probe(_options.TableName), out string output)
                && output.Contains("127.0.0.1", StringComparison.Ordinal);
        }
    }

    public void Dispose() => _session.Dispose();

    private static void EnsureIPv4(PortMapping m)
    {
        if (m.InternalAddress.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"NAT mapping to a non-IPv4 address {m.InternalAddress}", nameof(m));
        }
    }
}
