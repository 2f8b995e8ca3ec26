using System.Globalization;

namespace PortMapper.Gateway.Leases;

/// <summary>An inclusive range of ports, written "N" or "LOW-HIGH".</summary>
public readonly record struct PortRange(ushort Low, ushort High)
{
    public static readonly PortRange Unprivileged = new(1024, 65535);

    public bool Contains(ushort port) => port >= Low && port <= High;

    public static bool TryParse(string text, out PortRange range, out string error)
    {
        range = default;
        string[] parts = text.Split('-', 2, StringSplitOptions.TrimEntries);
        if (!TryParsePort(parts[0], out ushort low) || (parts.Length == 2 && !TryParsePort(parts[1], out _)))
        {
            error = $"'{text}' is not a port or a port range (1-65535)";
            return false;
        }

        ushort high = parts.Length == 2 ? ushort.Parse(parts[1], CultureInfo.InvariantCulture) : low;
        if (high < low)
        {
            error = $"port range '{text}' is reversed";
            return false;
        }

        range = new PortRange(low, high);
        error = string.Empty;
        return true;
    }

    public override string ToString() => Low == High ? Low.ToString(CultureInfo.InvariantCulture) : $"{Low}-{High}";

    private static bool TryParsePort(string text, out ushort port) =>
        ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port != 0;
}
