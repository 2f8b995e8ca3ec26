using System.Globalization;

namespace PortMapper.Protocols.Rtsp;

/// <summary>
/// Transport = "Transport" ":" 1#transport-spec (RFC 2326 §12.39):
/// <code>
/// transport-spec = transport-protocol/profile[/lower-transport] *parameter
/// parameter      = ( "unicast" | "multicast" ) | ";" "destination" [ "=" address ] | ";" "interleaved" "=" channel [ "-" channel ]
///                | ";" "client_port" "=" port [ "-" port ] | ";" "server_port" "=" port [ "-" port ] | ";" "source" "=" address | ...
/// </code>
/// Parameters it does not know (ttl, layers, ssrc, mode, append, port) are skipped, as the RFC asks.
/// </summary>
public static class RtspTransportParser
{
    /// <summary>A client offers a few alternatives; more than this is not a real client.</summary>
    public const int MaxSpecs = 8;

    public static RtspTransportError TryParse(string value, List<RtspTransportSpec> specs)
    {
        specs.Clear();
        string[] alternatives = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (alternatives.Length == 0 || alternatives.Length > MaxSpecs)
        {
            return RtspTransportError.Empty;
        }

        foreach (string alternative in alternatives)
        {
            RtspTransportError error = TryParseSpec(alternative, out RtspTransportSpec? spec);
            if (error != RtspTransportError.None)
            {
                specs.Clear();
                return error;
            }

            specs.Add(spec!);
        }

        return RtspTransportError.None;
    }

    private static RtspTransportError TryParseSpec(string text, out RtspTransportSpec? spec)
    {
        spec = null;
        string[] parameters = text.Split(';', StringSplitOptions.TrimEntries);
        string protocol = parameters[0];
        string[] layers = protocol.Split('/');
        if (layers.Length is < 2 or > 3 || layers.Any(l => l.Length == 0 || !l.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')))
        {
            return RtspTransportError.BadProtocol;
        }

        bool tcp = layers.Skip(1).Any(l => l.Equals("TCP", StringComparison.OrdinalIgnoreCase));
        bool multicast = false, interleaved = false;
        RtspPortRange? client = null, server = null;
        string? destination = null, source = null;
        foreach (string parameter in parameters.AsSpan(1))
        {
            int eq = parameter.IndexOf('=', StringComparison.Ordinal);
            string name = (eq < 0 ? parameter : parameter[..eq]).Trim().ToLowerInvariant();
            string? argument = eq < 0 ? null : parameter[(eq + 1)..].Trim().Trim('"');
            switch (name)
            {
                case "multicast":
                    multicast = true;
                    break;
                case "unicast":
                    multicast = false;
                    break;
                case "interleaved":
                    interleaved = true;
                    break;
                case "client_port":
                    if (!TryParsePorts(argument, out RtspPortRange c))
                    {
                        return RtspTransportError.BadPort;
                    }

                    client = c;
                    break;
                case "server_port":
                    if (!TryParsePorts(argument, out RtspPortRange s))
                    {
                        return RtspTransportError.BadPort;
                    }

                    server = s;
                    break;
                case "destination":
                    destination = argument ?? string.Empty;
                    break;
                case "source":
                    source = argument;
                    break;
            }
        }

        spec = new RtspTransportSpec(protocol, tcp, multicast, client, server, interleaved, destination, source);
        return RtspTransportError.None;
    }

    private static bool TryParsePorts(string? text, out RtspPortRange range)
    {
        range = default;
        if (text is null)
        {
            return false;
        }

        string[] parts = text.Split('-');
        if (parts.Length > 2 || !TryParsePort(parts[0], out ushort low))
        {
            return false;
        }

        ushort high = low;
        if (parts.Length == 2 && (!TryParsePort(parts[1], out high) || high < low))
        {
            return false;
        }

        range = new RtspPortRange(low, high);
        return true;
    }

    private static bool TryParsePort(string text, out ushort port)
    {
        port = 0;
        return text.Length is > 0 and <= 5 && ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port != 0;
    }
}
