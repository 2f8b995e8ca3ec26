using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// Argument parsing for the control actions. Every parser is strict: an empty, non-numeric or out-of-range
/// value fails (and the action answers 402). Addresses must be literals: nothing from a request is ever
/// looked up by name.
/// </summary>
public static class UpnpArguments
{
    /// <summary>The longest description kept, in characters, after control characters are removed.</summary>
    public const int MaxDescriptionLength = 128;

    public static bool TryPort(string? text, out ushort port)
    {
        port = 0;
        return TryUnsigned(text, ushort.MaxValue, out uint value) && (port = (ushort)value) == value;
    }

    public static bool TryUInt32(string? text, out uint value) => TryUnsigned(text, uint.MaxValue, out value);

    /// <summary>UPnP boolean: 0/1, true/false, yes/no (UDA 1.1 §2.5, data type boolean).</summary>
    public static bool TryBoolean(string? text, out bool value)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "1" or "TRUE" or "YES":
                value = true;
                return true;
            case "0" or "FALSE" or "NO":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>TCP or UDP, in any case.</summary>
    public static bool TryProtocol(string? text, out MappingProtocol protocol)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "TCP":
                protocol = MappingProtocol.Tcp;
                return true;
            case "UDP":
                protocol = MappingProtocol.Udp;
                return true;
            default:
                protocol = default;
                return false;
        }
    }

    public static string ProtocolName(MappingProtocol protocol) => protocol == MappingProtocol.Tcp ? "TCP" : "UDP";

    /// <summary>
    /// A remote host: empty (or "*") is the wildcard, returned as null; otherwise an address literal of the
    /// family. A name is refused.
    /// </summary>
    public static bool TryRemoteHost(string? text, AddressFamily family, out IPAddress? host)
    {
        host = null;
        string value = text?.Trim() ?? string.Empty;
        if (value.Length == 0 || value == "*")
        {
            return text is not null;
        }

        return TryAddress(value, family, out host);
    }

    /// <summary>An address literal of the family, in its plain form (no scope, no brackets, no port).</summary>
    public static bool TryAddress(string? text, AddressFamily family, out IPAddress? address)
    {
        address = null;
        string value = text?.Trim() ?? string.Empty;
        if (value.Length == 0 || value.Contains('%', StringComparison.Ordinal)
            || !IPAddress.TryParse(value, out IPAddress? parsed) || parsed.AddressFamily != family)
        {
            return false;
        }

        // IPAddress.TryParse takes "1" as 0.0.0.1 and "1.2" as 1.0.0.2: only the dotted quad is a literal here.
        if (family == AddressFamily.InterNetwork && value.Count(c => c == '.') != 3)
        {
            return false;
        }

        address = parsed;
        return true;
    }

    /// <summary>
    /// What is stored, logged, put in the kernel's logs and shown for a mapping's description: control and
    /// format characters removed, whitespace runs folded, at most <see cref="MaxDescriptionLength"/> characters.
    /// </summary>
    public static string SanitizeDescription(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var clean = new StringBuilder(Math.Min(text.Length, MaxDescriptionLength));
        bool space = false;
        foreach (Rune rune in text.EnumerateRunes())
        {
            UnicodeCategory category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                space = clean.Length > 0;
                continue;
            }

            if (Rune.IsWhiteSpace(rune))
            {
                space = clean.Length > 0;
                continue;
            }

            int needed = rune.Utf16SequenceLength + (space ? 1 : 0);
            if (clean.Length + needed > MaxDescriptionLength)
            {
                break;
            }

            if (space)
            {
                clean.Append(' ');
                space = false;
            }

            clean.Append(rune.ToString());
        }

        return clean.ToString();
    }

    private static bool TryUnsigned(string? text, uint max, out uint value)
    {
        value = 0;
        string trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Length == 0 || trimmed.Length > 10 || !trimmed.All(char.IsAsciiDigit))
        {
            return false;
        }

        return ulong.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out ulong wide) && wide <= max && (value = (uint)wide) == wide;
    }
}
