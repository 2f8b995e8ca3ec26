using System.Globalization;
using System.Text;

namespace PortMapper.KernelBackend.Nftables;

/// <summary>
/// Which mappings claim each element of the outbound (port preservation) map: internal endpoint → external
/// address and port. Two mappings may share an internal endpoint (two external ports to one service); the map can
/// hold one value per key, so the oldest mapping (lowest id) owns the element and the next takes over when it
/// goes. Changes since the last commit are diffed against what the kernel holds.
/// </summary>
internal sealed class OutboundUsers
{
    private readonly Dictionary<string, ClaimSet<(string Value, DateTimeOffset? Expires)>> _claims = [];
    private readonly Dictionary<long, string> _keyOf = [];
    private readonly Dictionary<string, (string Value, DateTimeOffset? Expires)> _kernel = [];
    private readonly HashSet<string> _touched = [];

    // While a batch is on its way to the kernel: how to take back its claims, should the kernel refuse it.
    private readonly List<Action> _undo = [];
    private bool _recording;

    public void Clear()
    {
        _claims.Clear();
        _keyOf.Clear();
        _kernel.Clear();
        _touched.Clear();
        _undo.Clear();
        _recording = false;
    }

    /// <summary>Starts recording attaches and detaches, for <see cref="Rollback"/>.</summary>
    public void BeginBatch()
    {
        _undo.Clear();
        _recording = true;
    }

    /// <summary>The kernel refused the batch: claims are as they were before <see cref="BeginBatch"/>.</summary>
    public void Rollback()
    {
        for (int i = _undo.Count - 1; i >= 0; i--)
        {
            _undo[i]();
        }

        _undo.Clear();
        _recording = false;
    }

    private void Record(string key, long id)
    {
        if (!_recording)
        {
            return;
        }

        (string Value, DateTimeOffset? Expires) old = default;
        bool had = _claims.TryGetValue(key, out var before) && before.TryGetValue(id, out old);
        bool hadKey = _keyOf.TryGetValue(id, out string? oldKey);
        _undo.Add(() =>
        {
            if (had)
            {
                if (!_claims.TryGetValue(key, out var claims))
                {
                    claims = new();
                    _claims.Add(key, claims);
                }

                claims.Set(id, old);
            }
            else if (_claims.TryGetValue(key, out var claims) && claims.Remove(id) && claims.Count == 0)
            {
                _claims.Remove(key);
            }

            if (hadKey)
            {
                _keyOf[id] = oldKey!;
            }
            else
            {
                _keyOf.Remove(id);
            }
        });
    }

    public void Attach(long id, string key, string value, DateTimeOffset? expires)
    {
        Record(key, id);
        if (!_claims.TryGetValue(key, out var claims))
        {
            claims = new();
            _claims.Add(key, claims);
        }

        claims.Set(id, (value, expires));
        _keyOf[id] = key;
        _touched.Add(key);
    }

    public void Detach(long id)
    {
        if (_keyOf.TryGetValue(id, out string? current))
        {
            Record(current, id);
        }

        if (_keyOf.Remove(id, out string? key) && _claims.TryGetValue(key, out var claims))
        {
            claims.Remove(id);
            if (claims.Count == 0)
            {
                _claims.Remove(key);
            }

            _touched.Add(key);
        }
    }

    /// <summary>Every owned element, for a full rebuild.</summary>
    public IEnumerable<(string Key, string Value, TimeSpan? Timeout)> Entries(DateTimeOffset now)
    {
        foreach (var (key, claims) in _claims)
        {
            var (value, expires) = claims.First.Value;
            yield return (key, value, expires - now);
        }
    }

    public void AppendKernelChanges(StringBuilder text, string table, DateTimeOffset now)
    {
        foreach (string key in _touched)
        {
            bool inKernel = _kernel.TryGetValue(key, out var held) && (held.Expires is null || held.Expires > now);
            (string Value, DateTimeOffset? Expires)? wanted = _claims.TryGetValue(key, out var claims) ? claims.First.Value : null;
            if (wanted is { } w && inKernel && held.Value == w.Value && held.Expires == w.Expires)
            {
                continue;
            }

            if (inKernel)
            {
                text.Append(CultureInfo.InvariantCulture, $"delete element inet {table} {NftablesRuleset.OutboundMap} {{ {key} }}\n");
            }

            if (wanted is { } add)
            {
                NftablesRuleset.AppendOutbound(text, table, key, add.Value, add.Expires - now);
            }
        }
    }

    public void CommitKernelState(DateTimeOffset now)
    {
        foreach (string key in _touched)
        {
            if (_claims.TryGetValue(key, out var claims))
            {
                _kernel[key] = claims.First.Value;
            }
            else
            {
                _kernel.Remove(key);
            }
        }

        _touched.Clear();
        _undo.Clear();
        _recording = false;
    }
}
