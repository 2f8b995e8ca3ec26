using System.Text;

namespace PortMapper.KernelBackend.Nftables;

/// <summary>
/// Which mappings use each forward-accept entry, and what the kernel holds for it. Entries touched since the
/// last commit are diffed against the kernel's copy to produce the fewest element changes.
/// </summary>
internal sealed class ForwardUsers
{
    private readonly Dictionary<ForwardKey, Dictionary<(TransportProtocol, ushort), DateTimeOffset?>> _users = [];
    private readonly Dictionary<(TransportProtocol, ushort), ForwardKey> _keyOf = [];

    // What the kernel holds: absent, or present until an expiry (null: permanent).
    private readonly Dictionary<ForwardKey, DateTimeOffset?> _kernel = [];
    private readonly HashSet<ForwardKey> _touched = [];

    public void Clear()
    {
        _users.Clear();
        _keyOf.Clear();
        _kernel.Clear();
        _touched.Clear();
    }

    public void Attach(PortMapping m, DateTimeOffset now)
    {
        var key = new ForwardKey(m.InternalAddress, m.Protocol, m.InternalPort);
        if (!_users.TryGetValue(key, out var users))
        {
            users = [];
            _users.Add(key, users);
        }

        users[(m.Protocol, m.ExternalPort)] = now + m.Timeout;
        _keyOf[(m.Protocol, m.ExternalPort)] = key;
        _touched.Add(key);
    }

    public void Detach(TransportProtocol protocol, ushort externalPort)
    {
        if (!_keyOf.Remove((protocol, externalPort), out ForwardKey key))
        {
            return;
        }

        if (_users.TryGetValue(key, out var users))
        {
            users.Remove((protocol, externalPort));
            _touched.Add(key);
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
            if (!needed)
            {
                if (inKernel)
                {
                    NftablesRuleset.AppendDeleteForward(text, table, key);
                }

                continue;
            }

            bool longEnough = inKernel && (held is null || (expires is not null && held >= expires));
            if (longEnough)
            {
                continue;
            }

            if (inKernel)
            {
                NftablesRuleset.AppendDeleteForward(text, table, key);
            }

            NftablesRuleset.AppendAddForward(text, table, new ForwardEntry(key, expires - now));
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
            else if (!(inKernel && (held is null || (expires is not null && held >= expires))))
            {
                _kernel[key] = expires;
            }
        }

        _touched.Clear();
    }

    /// <summary>Whether any live user needs the entry, and until when (null: forever).</summary>
    private bool Needed(ForwardKey key, DateTimeOffset now, out DateTimeOffset? expires)
    {
        expires = null;
        if (!_users.TryGetValue(key, out var users))
        {
            return false;
        }

        bool any = false;
        List<(TransportProtocol, ushort)>? lapsed = null;
        foreach (var (user, userExpires) in users)
        {
            if (userExpires is { } e && e <= now)
            {
                (lapsed ??= []).Add(user);
                continue;
            }

            expires = !any ? userExpires : (userExpires is null || expires is null ? null : Max(expires.Value, userExpires.Value));
            any = true;
        }

        foreach (var user in lapsed ?? [])
        {
            users.Remove(user);
            _keyOf.Remove(user);
        }

        return any;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
