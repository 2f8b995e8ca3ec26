using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Import;

/// <summary>
/// Converts an existing miniupnpd installation: its miniupnpd.conf (interfaces, ports, protocol switches, secure
/// mode, lifetimes, allow/deny permission rules) into this daemon's JSON configuration, and its lease file into
/// leases. Whatever has no equivalent is listed with the reason, never dropped silently.
/// </summary>
public sealed partial class MiniupnpdImport
{
    private readonly List<string> _notConverted = [];
    private readonly List<string> _converted = [];
    private readonly List<PolicyRule> _rules = [];
    private readonly List<string> _lan = [];
    private readonly Dictionary<string, object> _settings = new(StringComparer.Ordinal);

    public IReadOnlyList<string> NotConverted => _notConverted;

    public IReadOnlyList<string> Converted => _converted;

    /// <summary>The lease file named in the configuration (lease_file), if any.</summary>
    public string? LeaseFile { get; private set; }

    public List<Lease> Leases { get; } = [];

    /// <summary>Reads miniupnpd.conf. <paramref name="addressOwner"/> finds the interface that has an address (listening_ip may give one).</summary>
    public void ReadConfig(string text, Func<IPAddress, string?> addressOwner)
    {
        int number = 0;
        foreach (string raw in text.Split('\n'))
        {
            number++;
            string line = raw.Split('#')[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("allow ", StringComparison.Ordinal) || line.StartsWith("deny ", StringComparison.Ordinal))
            {
                ReadRule(line, number);
                continue;
            }

            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                _notConverted.Add($"line {number}: '{line}' is not 'key=value' or a permission rule");
                continue;
            }

            ReadSetting(line[..equals].Trim(), line[(equals + 1)..].Trim(), number, addressOwner);
        }

        if (_rules.Count > 0)
        {
            // miniupnpd accepts what no rule matches; this daemon refuses it. An explicit last rule keeps the behaviour.
            _rules.Add(new PolicyRule(true, new PortRange(1, 65535), new IPNetwork(IPAddress.Any, 0), new PortRange(1, 65535)));
            _converted.Add("a final 'allow' rule: miniupnpd accepts requests that no permission rule matches");
        }
    }

    /// <summary>
    /// Reads the lease file: "PROTO:EXTPORT:ADDRESS:INTPORT:EXPIRES:DESCRIPTION" per line, EXPIRES a Unix time (0:
    /// permanent); older miniupnpd versions write no EXPIRES. Leases that have run out are skipped.
    /// </summary>
    public void ReadLeases(string text, DateTimeOffset now)
    {
        int number = 0;
        foreach (string raw in text.Split('\n'))
        {
            number++;
            string line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            string[] f = line.Split(':', 6);
            if (f.Length < 5 || !UpnpArguments.TryProtocol(f[0], out MappingProtocol protocol)
                || !UpnpArguments.TryPort(f[1], out ushort external) || external == 0
                || !UpnpArguments.TryAddress(f[2], System.Net.Sockets.AddressFamily.InterNetwork, out IPAddress? address)
                || !UpnpArguments.TryPort(f[3], out ushort internalPort) || internalPort == 0)
            {
                _notConverted.Add($"lease line {number}: '{line}' is not PROTO:EXTPORT:ADDRESS:INTPORT:EXPIRES:DESCRIPTION");
                continue;
            }

            // With six fields the fifth is the expiry; with five, the old format, there is none (permanent).
            DateTimeOffset? expires = null;
            string description = f.Length == 6 ? f[5] : f[4];
            if (f.Length == 6)
            {
                if (!long.TryParse(f[4], NumberStyles.None, CultureInfo.InvariantCulture, out long unix))
                {
                    _notConverted.Add($"lease line {number}: expiry '{f[4]}' is not a Unix time");
                    continue;
                }

                if (unix != 0)
                {
                    expires = DateTimeOffset.FromUnixTimeSeconds(unix);
                    if (expires <= now)
                    {
                        _notConverted.Add($"lease line {number}: {f[0]} {external} expired at {expires:u}");
                        continue;
                    }
                }
            }

            Leases.Add(new Lease(0, protocol, external, address!, internalPort, address!, null, MappingOrigin.Upnp,
                UpnpArguments.SanitizeDescription(description), null, now, expires));
        }
    }

    /// <summary>The converted configuration as this daemon's JSON file.</summary>
    public string ConfigJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            foreach (var (key, value) in _settings.Where(p => !p.Key.Contains('.', StringComparison.Ordinal)).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                WriteValue(json, key, value);
            }

            if (_lan.Count > 0)
            {
                json.WriteStartArray("lan");
                foreach (string lan in _lan.Distinct())
                {
                    json.WriteStringValue(lan);
                }

                json.WriteEndArray();
            }

            foreach (var section in _settings.Where(p => p.Key.Contains('.', StringComparison.Ordinal)).GroupBy(p => p.Key.Split('.')[0]).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                json.WriteStartObject(section.Key);
                foreach (var (key, value) in section.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    WriteValue(json, key.Split('.')[1], value);
                }

                json.WriteEndObject();
            }

            if (_rules.Count > 0)
            {
                json.WriteStartArray("rules");
                foreach (PolicyRule rule in _rules)
                {
                    json.WriteStartObject();
                    json.WriteString("action", rule.Allow ? "allow" : "deny");
                    json.WriteString("externalPorts", $"{rule.ExternalPorts.Low}-{rule.ExternalPorts.High}");
                    json.WriteString("internalAddress", rule.InternalNetwork.ToString());
                    json.WriteString("internalPorts", $"{rule.InternalPorts.Low}-{rule.InternalPorts.High}");
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteValue(Utf8JsonWriter json, string key, object value)
    {
        switch (value)
        {
            case bool b:
                json.WriteBoolean(key, b);
                break;
            case int i:
                json.WriteNumber(key, i);
                break;
            default:
                json.WriteString(key, value.ToString());
                break;
        }
    }
}
