using System.Net;
using System.Net.Sockets;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Leases;

/// <summary>
/// Remote-peer filters as the kernel must hold them. A filter is a rectangle: a prefix of remote addresses times
/// one remote port (0: every port). The kernel's interval sets refuse two elements that overlap ("File exists"),
/// so one mapping's filters are made disjoint (<see cref="Normalize"/>) and filters of different mappings of the
/// same internal endpoint must be equal or disjoint (<see cref="Compatible"/>).
/// </summary>
public static class FilterSet
{
    /// <summary>
    /// The same set of remote peers as disjoint filters: duplicates and filters inside another go, and where a
    /// narrower prefix for every port sits inside a wider prefix for one port, the wider one keeps only the
    /// sub-prefixes outside the narrower (RFC 6887 §13.3 lets the server hold filters in any form that admits
    /// the same peers).
    /// </summary>
    public static List<MappingFilter> Normalize(IEnumerable<MappingFilter> filters)
    {
        var work = new List<MappingFilter>(filters.Distinct());
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int i = 0; i < work.Count && !changed; i++)
            {
                for (int j = 0; j < work.Count && !changed; j++)
                {
                    if (i == j)
                    {
                        continue;
                    }

                    MappingFilter a = work[i], b = work[j];
                    if (Contains(b, a))
                    {
                        work.RemoveAt(i);
                        changed = true;
                    }
                    else if (Overlap(a, b) && a.Port == 0 && b.Port != 0)
                    {
                        // a: narrower prefix, every port; b: wider prefix, one port. b keeps what a does not cover.
                        work.RemoveAt(j);
                        work.AddRange(Subtract(b.Network, a.Network).Select(n => new MappingFilter(n, b.Port)));
                        changed = true;
                    }
                }
            }
        }

        work.Sort(static (x, y) => Compare(x, y));
        return work;
    }

    /// <summary>Whether two sets of disjoint filters can sit in the kernel side by side: each pair equal or disjoint.</summary>
    public static bool Compatible(IReadOnlyList<MappingFilter> mine, IReadOnlyList<MappingFilter> theirs)
    {
        foreach (MappingFilter a in mine)
        {
            foreach (MappingFilter b in theirs)
            {
                if (a != b && Overlap(a, b))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Whether every filter is of the address family of the mapping's internal address.</summary>
    public static bool SameFamily(IEnumerable<MappingFilter> filters, AddressFamily family) =>
        filters.All(f => f.Network.BaseAddress.AddressFamily == family);

    public static bool Overlap(MappingFilter a, MappingFilter b) =>
        (a.Port == 0 || b.Port == 0 || a.Port == b.Port)
        && a.Network.BaseAddress.AddressFamily == b.Network.BaseAddress.AddressFamily
        && (a.Network.Contains(b.Network.BaseAddress) || b.Network.Contains(a.Network.BaseAddress));

    /// <summary>Whether <paramref name="outer"/> admits every peer <paramref name="inner"/> admits.</summary>
    private static bool Contains(MappingFilter outer, MappingFilter inner) =>
        (outer.Port == 0 || outer.Port == inner.Port)
        && outer.Network.BaseAddress.AddressFamily == inner.Network.BaseAddress.AddressFamily
        && outer.Network.PrefixLength <= inner.Network.PrefixLength
        && outer.Network.Contains(inner.Network.BaseAddress);

    /// <summary>The prefixes that make up <paramref name="outer"/> without <paramref name="inner"/> (inner inside outer).</summary>
    private static IEnumerable<IPNetwork> Subtract(IPNetwork outer, IPNetwork inner)
    {
        byte[] bits = inner.BaseAddress.GetAddressBytes();
        for (int length = outer.PrefixLength + 1; length <= inner.PrefixLength; length++)
        {
            // The sibling of inner's ancestor of this length: same bits before it, the last one flipped.
            byte[] sibling = (byte[])bits.Clone();
            int bit = length - 1;
            sibling[bit / 8] ^= (byte)(0x80 >> (bit % 8));
            for (int b = length; b < sibling.Length * 8; b++)
            {
                sibling[b / 8] &= (byte)~(0x80 >> (b % 8));
            }

            yield return new IPNetwork(new IPAddress(sibling), length);
        }
    }

    private static int Compare(MappingFilter x, MappingFilter y)
    {
        int byAddress = x.Network.BaseAddress.GetAddressBytes().AsSpan().SequenceCompareTo(y.Network.BaseAddress.GetAddressBytes());
        return byAddress != 0 ? byAddress : x.Network.PrefixLength != y.Network.PrefixLength
            ? x.Network.PrefixLength.CompareTo(y.Network.PrefixLength) : x.Port.CompareTo(y.Port);
    }
}
