namespace PortMapper.Fuzz;

/// <summary>
/// One fuzz target: the bytes a hostile peer controls go through a decoder and, where there is one, the handler and
/// encoder that follow it, with the invariants of the path asserted. Returning means the input was handled as the
/// protocol says (answered or dropped); any exception is a bug.
/// </summary>
public sealed record FuzzTarget(string Name, string Covers, Action<byte[]> Run);

/// <summary>An invariant of a decode → handle → encode path that an input broke.</summary>
public sealed class InvariantException(string message) : Exception(message)
{
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvariantException(what);
        }
    }
}
