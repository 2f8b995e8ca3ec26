using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace PortMapper.Protocols.Rtsp;

/// <summary>
/// Frames an RTSP/1.0 byte stream (RFC 2326 §4, §6, §7, §10.12): message headers, whose bodies the caller skips by
/// Content-Length, and interleaved binary frames. Lines end in CRLF or LF. Nothing is allocated for a header
/// that is not complete yet, and nothing past <see cref="MaxHeaderLength"/> is ever buffered.
/// </summary>
public static class RtspMessageReader
{
    /// <summary>The longest header accepted; real ones are a few hundred octets.</summary>
    public const int MaxHeaderLength = 8192;

    private const byte Dollar = (byte)'$';
    private static ReadOnlySpan<byte> Version => "RTSP/1."u8;

    public static RtspReadResult Read(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return RtspReadResult.NeedMore;
        }

        if (data[0] == Dollar)
        {
            // '$' | channel (8) | length (16) | data
            return data.Length < 4
                ? RtspReadResult.NeedMore
                : new RtspReadResult(RtspReadStatus.Interleaved, null, 4 + BinaryPrimitives.ReadUInt16BigEndian(data[2..]), RtspParseError.None);
        }

        // Empty lines between messages are allowed (§4); they belong to no message.
        int skip = 0;
        while (skip < data.Length && data[skip] is (byte)'\r' or (byte)'\n')
        {
            skip++;
        }

        ReadOnlySpan<byte> rest = data[skip..];
        int end = HeaderEnd(rest[..Math.Min(rest.Length, MaxHeaderLength)]);
        if (end < 0)
        {
            return data.Length >= MaxHeaderLength ? RtspReadResult.Malformed(RtspParseError.HeaderTooLong) : RtspReadResult.NeedMore;
        }

        return Parse(rest[..end], skip + end);
    }

    /// <summary>The offset just past the empty line that ends the header, or -1.</summary>
    private static int HeaderEnd(ReadOnlySpan<byte> data)
    {
        int lineStart = 0;
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] != (byte)'\n')
            {
                continue;
            }

            int length = i - lineStart;
            if (length == 0 || (length == 1 && data[lineStart] == (byte)'\r'))
            {
                return i + 1;
            }

            lineStart = i + 1;
        }

        return -1;
    }

    private static RtspReadResult Parse(ReadOnlySpan<byte> header, int length)
    {
        var lines = new List<string>(16);
        foreach (Range r in Lines(header))
        {
            ReadOnlySpan<byte> line = header[r];
            foreach (byte b in line)
            {
                if ((b < 0x20 && b != (byte)'\t') || b == 0x7F)
                {
                    return RtspReadResult.Malformed(lines.Count == 0 ? RtspParseError.BadStartLine : RtspParseError.BadHeaderLine);
                }
            }

            if (line.Length > 0 && (line[0] == (byte)' ' || line[0] == (byte)'\t') && lines.Count > 1)
            {
                lines[^1] += " " + Encoding.UTF8.GetString(line).Trim(); // obsolete line folding (§4.4 of RFC 2616)
            }
            else if (line.Length > 0)
            {
                lines.Add(Encoding.UTF8.GetString(line));
            }
        }

        if (lines.Count == 0 || StartLine(lines[0]) is not { } start)
        {
            return RtspReadResult.Malformed(RtspParseError.BadStartLine);
        }

        RtspMessage message = start;
        for (int i = 1; i < lines.Count; i++)
        {
            string line = lines[i];
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !IsToken(line.AsSpan(0, colon)))
            {
                return RtspReadResult.Malformed(RtspParseError.BadHeaderLine);
            }

            string name = line[..colon];
            string value = line[(colon + 1)..].Trim();
            RtspParseError error = RtspParseError.None;
            if (Is(name, "CSeq"))
            {
                error = Number(value, message.CSeq, out int cseq) ? RtspParseError.None : RtspParseError.BadCSeq;
                message = message with { CSeq = cseq };
            }
            else if (Is(name, "Content-Length"))
            {
                error = Number(value, message.ContentLength == 0 ? null : message.ContentLength, out int contentLength) ? RtspParseError.None : RtspParseError.BadContentLength;
                message = message with { ContentLength = contentLength };
            }
            else if (Is(name, "Transport"))
            {
                // Repeated headers combine as a list (RFC 2616 §4.2), which is what Transport's syntax is.
                message = message with { Transport = message.Transport is null ? value : message.Transport + "," + value };
            }
            else if (Is(name, "Session"))
            {
                if (!TryReadSession(value, out string session, out int? timeout) || (message.Session is { } earlier && earlier != session))
                {
                    error = RtspParseError.BadSession;
                }

                message = message with { Session = session, SessionTimeout = timeout ?? message.SessionTimeout };
            }

            if (error != RtspParseError.None)
            {
                return RtspReadResult.Malformed(error);
            }
        }

        return new RtspReadResult(RtspReadStatus.Message, message, length, RtspParseError.None);
    }

    /// <summary>The line ranges of a header, each without its CR and LF.</summary>
    private static List<Range> Lines(ReadOnlySpan<byte> header)
    {
        var ranges = new List<Range>(16);
        int start = 0;
        for (int i = 0; i < header.Length; i++)
        {
            if (header[i] == (byte)'\n')
            {
                int end = i > start && header[i - 1] == (byte)'\r' ? i - 1 : i;
                ranges.Add(start..end);
                start = i + 1;
            }
        }

        return ranges;
    }

    /// <summary>"METHOD URI RTSP/1.x" (§6.1) or "RTSP/1.x CODE REASON" (§7.1).</summary>
    private static RtspMessage? StartLine(string line)
    {
        string[] parts = line.Split(' ', 3);
        if (parts.Length < 2)
        {
            return null;
        }

        if (IsVersion(parts[0]))
        {
            return parts[1].Length == 3 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int code) && code >= 100
                ? new RtspMessage { IsResponse = true, StatusCode = code }
                : null;
        }

        return parts.Length == 3 && IsToken(parts[0]) && parts[1].Length > 0 && IsVersion(parts[2])
            ? new RtspMessage { Method = parts[0], Uri = parts[1] }
            : null;
    }

    private static bool IsVersion(string text) =>
        text.Length == 8 && Encoding.ASCII.GetBytes(text).AsSpan().StartsWith(Version) && char.IsAsciiDigit(text[7]);

    /// <summary>
    /// Session = "Session" ":" session-id [ ";" "timeout" "=" delta-seconds ] (§12.37); the identifier is
    /// 1*( ALPHA | DIGIT | safe ), safe being "$" | "-" | "_" | "." | "+".
    /// </summary>
    public static bool TryReadSession(string value, out string session, out int? timeout)
    {
        timeout = null;
        string[] parts = value.Split(';', StringSplitOptions.TrimEntries);
        session = parts[0];
        if (session.Length == 0 || session.Length > 256 || !session.All(c => char.IsAsciiLetterOrDigit(c) || c is '$' or '-' or '_' or '.' or '+'))
        {
            return false;
        }

        foreach (string parameter in parts.AsSpan(1))
        {
            int eq = parameter.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && parameter[..eq].Trim().Equals("timeout", StringComparison.OrdinalIgnoreCase))
            {
                if (!int.TryParse(parameter[(eq + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int seconds))
                {
                    return false;
                }

                timeout = seconds;
            }
        }

        return true;
    }

    private static bool Number(string value, int? earlier, out int number) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out number) && (earlier is null || earlier == number);

    private static bool Is(string name, string wanted) => name.Equals(wanted, StringComparison.OrdinalIgnoreCase);

    /// <summary>token = 1*(any CHAR except CTLs or tspecials) (§15).</summary>
    private static bool IsToken(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (c <= 0x20 || c >= 0x7F || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
