namespace PortMapper.KernelBackend.Nftables;

/// <summary>
/// The mappings (by id, each with a value) that need one kernel element, in id order. Nearly every element has
/// exactly one: that one is held in fields, and a list is made only for a second. A dictionary per element cost
/// about 200 bytes more per lease.
/// </summary>
internal sealed class ClaimSet<T>
{
    private long _firstId;
    private T _first = default!;
    private List<KeyValuePair<long, T>>? _rest; // ids above _firstId, ascending

    public int Count { get; private set; }

    /// <summary>The lowest id and its value; only when <see cref="Count"/> is above 0.</summary>
    public KeyValuePair<long, T> First => new(_firstId, _first);

    public bool TryGetValue(long id, out T value)
    {
        if (Count > 0 && id == _firstId)
        {
            value = _first;
            return true;
        }

        int at = IndexInRest(id);
        value = at >= 0 ? _rest![at].Value : default!;
        return at >= 0;
    }

    public void Set(long id, T value)
    {
        if (Count == 0 || id == _firstId)
        {
            Count = Count == 0 ? 1 : Count;
            (_firstId, _first) = (id, value);
            return;
        }

        _rest ??= new List<KeyValuePair<long, T>>(1);
        if (id < _firstId)
        {
            _rest.Insert(0, new(_firstId, _first));
            (_firstId, _first) = (id, value);
            Count++;
            return;
        }

        int at = IndexInRest(id);
        if (at >= 0)
        {
            _rest[at] = new(id, value);
            return;
        }

        _rest.Insert(~at, new(id, value));
        Count++;
    }

    public bool Remove(long id)
    {
        if (Count == 0)
        {
            return false;
        }

        if (id == _firstId)
        {
            if (_rest is { Count: > 0 })
            {
                (_firstId, _first) = (_rest[0].Key, _rest[0].Value);
                _rest.RemoveAt(0);
            }
            else
            {
                _first = default!;
            }

            Count--;
            return true;
        }

        int at = IndexInRest(id);
        if (at < 0)
        {
            return false;
        }

        _rest!.RemoveAt(at);
        Count--;
        return true;
    }

    /// <summary>Every claim, lowest id first.</summary>
    public IEnumerable<KeyValuePair<long, T>> All()
    {
        if (Count == 0)
        {
            yield break;
        }

        yield return First;
        if (_rest is not null)
        {
            foreach (KeyValuePair<long, T> claim in _rest)
            {
                yield return claim;
            }
        }
    }

    /// <summary>Index of <paramref name="id"/> in the rest, or the complement of where it would go.</summary>
    private int IndexInRest(long id)
    {
        if (_rest is null)
        {
            return ~0;
        }

        int low = 0, high = _rest.Count - 1;
        while (low <= high)
        {
            int middle = (low + high) >>> 1;
            long at = _rest[middle].Key;
            if (at == id)
            {
                return middle;
            }

            if (at < id)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return ~low;
    }
}
