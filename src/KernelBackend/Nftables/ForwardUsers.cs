using System.Text;

namespace PortMapper.KernelBackend.Nftables;

/// <summary>
/// Which mappings use each forward-set element, and what the kernel holds for it. Several mappings may need
/// the same element (two external ports to one service); an element stays while any of them lives, with a
/// timeout at least as long as its longest-lived user. Elements touched since the last commit are diffed
/// against the kernel's copy to produce the fewest element changes.
/// </summary>
internal sealed class ForwardUsers
{
    private readonly Dictionary<ForwardKey, ClaimSet<DateTimeOffset?>> _users = [];
    private readonly Dictionary<long, ForwardKey[]> _keysOf = [];

    // What the kernel holds: absent, or present until an expiry (null: permanent).
    private readonly Dictionary<ForwardKey, DateTimeOffset?> _kernel = [];
    private readonly HashSet<ForwardKey> _touched = [];

    // While a batch is on its way to the kernel: how to take back what it attached and detached, should the kernel
    // refuse it (else the refused batch's users would ride along in every later diff).
    private readonly List<Action> _undo = [];
    private bool _recording;

    public void Clear()
    {
        _users.Clear();
        _keysOf.Clear();
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

    /// <summary>The kernel refused the batch: users are as they were before <see cref="BeginBatch"/>.</summary>
    public void Rollback()
    {
        for (int i = _undo.Count - 1; i >= 0; i--)
        {
            _undo[i]();
        }

        _undo.Clear();
        _recording = false;
    }

    private void RecordUser(ClaimSet<DateTimeOffset?> users, long id)
    {
        if (_recording)
        {
            bool had = users.TryGetValue(id, out DateTimeOffset? old);
            _undo.Add(() =>
            {
                if (had)
                {
                    users.Set(id, old);
                }
                else
                {
                    users.Remove(id);
                }
            });
        }
    }

    private void RecordKeys(long id)
    {
        if (_recording)
        {
            bool had = _keysOf.TryGetValue(id, out ForwardKey[]? old);
            _undo.Add(() =>
            {
                if (had)
                {
                    _keysOf[id] = old!;
                }
                else
                {
                    _keysOf.Remove(id);
                }
            });
        }
    }

    public void Attach(long id, ForwardKey[] keys, DateTimeOffset? expires)
    {
        foreach (ForwardKey key in keys)
        {
            if (!_users.TryGetValue(key, out var users))
            {
                users = new();
                _users.Add(key, users);
            }

            RecordUser(users, id);
            users.Set(id, expires);
            _touched.Add(key);
        }

        RecordKeys(id);
        _keysOf[id] = keys;
    }

    public void Detach(long id)
    {
        RecordKeys(id);
        if (!_keysOf.Remove(id, out ForwardKey[]? keys))
        {
            return;
        }

        foreach (ForwardKey key in keys)
        {
            if (_users.TryGetValue(key, out var users))
            {
                RecordUser(users, id);
                users.Remove(id);
                _touched.Add(key);
            }
        }
    }

    /// <summary>The entries as a fresh table should hold them.</summary>
    public IEnumerable<ForwardEntry> Entries(DateTimeOffset now)
    {
        foreach (ForwardKey key in _users.Keys)
        {
            if (Needed(key, now, out DateTimeOffset? expires))
            {
                yield return new ForwardEntry(key, expires - now);
            }
        }
    }

    public void AppendKernelChanges(StringBuilder text, string table, DateTimeOffset now)
    {
        foreach (ForwardKey key in _touched)
        {
            bool inKernel = _kernel.TryGetValue(key, out DateTimeOffset? held) && (held is null || held > now);
            bool needed = Needed(key, now, out DateTimeOffset? expires);
            if (needed && inKernel && LongEnough(held, expires))
            {
                continue;
            }

            if (inKernel)
            {
                NftablesRuleset.AppendDeleteForward(text, table, key);
            }

            if (needed)
            {
                NftablesRuleset.AppendAddForward(text, table, new ForwardEntry(key, expires - now));
            }
        }
    }

    /// <summary>Records that the kernel now holds what the touched entries need.</summary>
    public void CommitKernelState(DateTimeOffset now)
    {
        foreach (ForwardKey key in _touched)
        {
            bool inKernel = _kernel.TryGetValue(key, out DateTimeOffset? held) && (held is null || held > now);
            if (!Needed(key, now, out DateTimeOffset? expires))
            {
                _kernel.Remove(key);
                _users.Remove(key);
            }
            else if (!(inKernel && LongEnough(held, expires)))
            {
                _kernel[key] = expires;
            }
        }

        _touched.Clear();
        _undo.Clear();
        _recording = false;
    }

    private static bool LongEnough(DateTimeOffset? held, DateTimeOffset? needed) => held is null || (needed is not null && held >= needed);

    /// <summary>Whether any live user needs the entry, and until when (null: forever). Drops users whose time is up.</summary>
    private bool Needed(ForwardKey key, DateTimeOffset now, out DateTimeOffset? expires)
    {
        expires = null;
        if (!_users.TryGetValue(key, out var users))
        {
            return false;
        }

        bool any = false;
        List<long>? lapsed = null;
        foreach (var (user, userExpires) in users.All())
        {
            if (userExpires is { } e && e <= now)
            {
                (lapsed ??= []).Add(user);
                continue;
            }

            expires = !any ? userExpires : (userExpires is null || expires is null ? null : (expires > userExpires ? expires : userExpires));
            any = true;
        }

        foreach (long user in lapsed ?? [])
        {
            // Expired mappings are never detached (the kernel times them out), so forget them here.
            users.Remove(user);
            _keysOf.Remove(user);
        }

        return any;
    }
}
