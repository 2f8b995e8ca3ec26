using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using PortMapper.Gateway.Leases;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Configuration;

/// <summary>
/// Reads the JSON configuration file over a <see cref="GatewaySettings"/>. Every problem is collected, so one
/// run reports them all; an unknown key is a problem (it is usually a typo of a known one).
/// </summary>
public static partial class ConfigFile
{
    public static GatewaySettings Read(string text, GatewaySettings settings, List<string> errors)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            errors.Add($"config: not valid JSON: {e.Message}");
            return settings;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add("config: the top level must be an object");
                return settings;
            }

            foreach (JsonProperty p in document.RootElement.EnumerateObject())
            {
                settings = ReadTopLevel(p, settings, errors);
            }
        }

        return settings;
    }

    private static GatewaySettings ReadTopLevel(JsonProperty p, GatewaySettings s, List<string> errors)
    {
        string path = p.Name;
        JsonElement v = p.Value;
        switch (p.Name)
        {
            case "wan":
                return String(v, path, errors) is { } wan ? s with { Wan = wan } : s;
            case "lan":
                return s with { Lan = Array(v, path, errors).Select((e, i) => String(e, $"{path}[{i}]", errors)).OfType<string>().ToList() };
            case "stateDir":
                return String(v, path, errors) is { } dir ? s with { StateDirectory = dir } : s;
            case "logLevel":
                return String(v, path, errors) is { } level ? s with { LogLevel = level } : s;
            case "secureMode":
                return Bool(v, path, errors) is { } secure ? s with { SecureMode = secure } : s;
            case "maxLifetime":
                return Integer(v, path, 60, int.MaxValue, errors) is { } life ? s with { MaxLifetimeSeconds = (uint)life } : s;
            case "maxLeasesPerClient":
                return Integer(v, path, 1, 65535, errors) is { } quota ? s with { MaxLeasesPerClient = (int)quota } : s;
            case "maxLeases":
                return Integer(v, path, 1, 1_000_000, errors) is { } total ? s with { MaxLeases = (int)total } : s;
            case "reservedPorts":
                return s with { ReservedPorts = Array(v, path, errors).Select((e, i) => Range(e, $"{path}[{i}]", errors)).OfType<PortRange>().ToList() };
            case "rules":
                return s with { Rules = Array(v, path, errors).Select((e, i) => Rule(e, $"{path}[{i}]", errors)).OfType<PolicyRule>().ToList() };
            case "firewall":
                return Section(v, path, s, errors, (name, f, fp, s) => name switch
                {
                    "mode" => String(f, fp, errors) switch
                    {
                        "standalone" => s with { FirewallMode = FirewallMode.Standalone },
                        "integrate" => s with { FirewallMode = FirewallMode.Integrate },
                        null => s,
                        var other => Fail(s, errors, $"{fp}: '{other}' is not 'standalone' or 'integrate'"),
                    },
                    "table" => String(f, fp, errors) is { } table && CheckTableName(table, fp, errors) ? s with { TableName = table } : s,
                    "mark" => Integer(f, fp, 1, uint.MaxValue, errors) is { } mark ? s with { FirewallMark = (uint)mark } : s,
                    "hairpin" => Bool(f, fp, errors) is { } hairpin ? s with { Hairpin = hairpin } : s,
                    "preservePorts" => Bool(f, fp, errors) is { } preserve ? s with { PreservePorts = preserve } : s,
                    "endFlows" => Bool(f, fp, errors) is { } endFlows ? s with { EndFlows = endFlows } : s,
                    _ => Unknown(s, errors, fp),
                });
            case "natPmp":
                return Section(v, path, s, errors, (name, f, fp, s) => name switch
                {
                    "enabled" => Bool(f, fp, errors) is { } on ? s with { NatPmpEnabled = on } : s,
                    _ => Unknown(s, errors, fp),
                });
            case "pcp":
                return Section(v, path, s, errors, (name, f, fp, s) => name switch
                {
                    "enabled" => Bool(f, fp, errors) is { } on ? s with { PcpEnabled = on } : s,
                    "allowThirdParty" => Bool(f, fp, errors) is { } third ? s with { PcpAllowThirdParty = third } : s,
                    "maxFilters" => Integer(f, fp, 1, 64, errors) is { } max ? s with { PcpMaxFilters = (int)max } : s,
                    _ => Unknown(s, errors, fp),
                });
            case "admin":
                return Section(v, path, s, errors, (name, f, fp, s) => name switch
                {
                    "mdns" => Bool(f, fp, errors) is { } mdns ? s with { AdminMdns = mdns } : s,
                    "listen" => f.ValueKind == JsonValueKind.Null ? s with { AdminListen = null } : String(f, fp, errors) is { } listen ? s with { AdminListen = listen } : s,
                    _ => Unknown(s, errors, fp),
                });
            case "helpers":
                return Section(v, path, s, errors, (name, f, fp, s) => name switch
                {
                    "sip" => Bool(f, fp, errors) is { } sip ? s with { SipHelper = sip } : s,
                    "sipPorts" => s with { SipPorts = Ports(f, fp, errors) },
                    "sipTcp" => Bool(f, fp, errors) is { } sipTcp ? s with { SipTcp = sipTcp } : s,
                    "rtsp" => Bool(f, fp, errors) is { } rtsp ? s with { RtspHelper = rtsp } : s,
                    "rtspPorts" => s with { RtspPorts = Ports(f, fp, errors) },
                    "rtspLogGroup" => Integer(f, fp, 1, 65535, errors) is { } group ? s with { RtspLogGroup = (ushort)group } : s,
                    _ => Unknown(s, errors, fp),
                });
            case "upnp":
                return Section(v, path, s, errors, (name, f, fp, s) => name switch
                {
                    "enabled" => Bool(f, fp, errors) is { } on ? s with { UpnpEnabled = on } : s,
                    "httpPort" => Integer(f, fp, 1, 65535, errors) is { } port ? s with { UpnpHttpPort = (int)port } : s,
                    "notifyInterval" => Integer(f, fp, 30, 86400, errors) is { } every ? s with { UpnpNotifyIntervalSeconds = (int)every } : s,
                    "friendlyName" => String(f, fp, errors) is { } friendly ? s with { UpnpFriendlyName = friendly } : s,
                    "pinholes" => Bool(f, fp, errors) is { } pin ? s with { UpnpPinholes = pin } : s,
                    "allowPermanent" => Bool(f, fp, errors) is { } perm ? s with { UpnpAllowPermanent = perm } : s,
                    "maxSubscriptions" => Integer(f, fp, 1, 65535, errors) is { } subs ? s with { UpnpMaxSubscriptions = (int)subs } : s,
                    "maxSubscriptionsPerHost" => Integer(f, fp, 1, 1024, errors) is { } perHost ? s with { UpnpMaxSubscriptionsPerHost = (int)perHost } : s,
                    "maxConnectionsPerHost" => Integer(f, fp, 1, 1024, errors) is { } conns ? s with { UpnpMaxConnectionsPerHost = (int)conns } : s,
                    _ => Unknown(s, errors, fp),
                });
            case "rateLimit":
                return Section(v, path, s, errors, (name, f, fp, s) => name switch
                {
                    "perSecond" => Number(f, fp, errors) is { } rate ? s with { RateLimitPerSecond = rate } : s,
                    "burst" => Integer(f, fp, 1, 1_000_000, errors) is { } burst ? s with { RateLimitBurst = (int)burst } : s,
                    _ => Unknown(s, errors, fp),
                });
            case "persistence":
                return Section(v, path, s, errors, (name, f, fp, s) => name switch
                {
                    "fsync" => Bool(f, fp, errors) is { } sync ? s with { Fsync = sync } : s,
                    _ => Unknown(s, errors, fp),
                });
            default:
                return Unknown(s, errors, path);
        }
    }

    /// <summary>Reads a nested object key by key: <paramref name="read"/> gets (key, value, path of the key, settings so far).</summary>
    private static GatewaySettings Section(
        JsonElement value, string path, GatewaySettings settings, List<string> errors, Func<string, JsonElement, string, GatewaySettings, GatewaySettings> read)
    {
        foreach (JsonProperty p in Object(value, path, errors))
        {
            settings = read(p.Name, p.Value, $"{path}.{p.Name}", settings);
        }

        return settings;
    }

    private static PolicyRule? Rule(JsonElement e, string path, List<string> errors)
    {
        bool? allow = null;
        PortRange? external = null;
        PortRange? internalPorts = null;
        IPNetwork? network = null;
        int before = errors.Count;
        foreach (JsonProperty f in Object(e, path, errors))
        {
            string fp = $"{path}.{f.Name}";
            switch (f.Name)
            {
                case "action":
                    allow = String(f.Value, fp, errors) switch
                    {
                        "allow" => true,
                        "deny" => false,
                        null => null,
                        var other => Fail<bool?>(null, errors, $"{fp}: '{other}' is not 'allow' or 'deny'"),
                    };
                    break;
                case "externalPorts":
                    external = Range(f.Value, fp, errors);
                    break;
                case "internalPorts":
                    internalPorts = Range(f.Value, fp, errors);
                    break;
                case "internalAddress":
                    if (String(f.Value, fp, errors) is { } cidr)
                    {
                        // A prefix with host bits set ("192.168.1.1/24") is usually a typo for another prefix.
                        if (IPNetwork.TryParse(cidr, out IPNetwork parsed) && cidr.StartsWith(parsed.BaseAddress.ToString() + "/", StringComparison.Ordinal))
                        {
                            network = parsed;
                        }
                        else
                        {
                            errors.Add($"{fp}: '{cidr}' is not an address prefix such as 192.168.1.0/24 (host bits must be zero)");
                        }
                    }

                    break;
                default:
                    Unknown(0, errors, fp);
                    break;
            }
        }

        if (allow is null && errors.Count == before)
        {
            errors.Add($"{path}.action: required ('allow' or 'deny')");
        }

        if (errors.Count != before || allow is null)
        {
            return null;
        }

        return new PolicyRule(
            allow.Value,
            external ?? new PortRange(1, 65535),
            network ?? new IPNetwork(IPAddress.Any, 0),
            internalPorts ?? new PortRange(1, 65535));
    }

    private static PortRange? Range(JsonElement e, string path, List<string> errors)
    {
        string text = e.ValueKind == JsonValueKind.Number ? e.GetRawText() : String(e, path, errors) ?? string.Empty;
        if (e.ValueKind is not (JsonValueKind.Number or JsonValueKind.String))
        {
            return null;
        }

        if (PortRange.TryParse(text, out PortRange range, out string error))
        {
            return range;
        }

        errors.Add($"{path}: {error}");
        return null;
    }

    private static bool CheckTableName(string name, string path, List<string> errors)
    {
        if (TableNamePattern().IsMatch(name))
        {
            return true;
        }

        errors.Add($"{path}: '{name}' is not a table name (letters, digits and _, at most 32)");
        return false;
    }

    private static string? String(JsonElement e, string path, List<string> errors) =>
        e.ValueKind == JsonValueKind.String ? e.GetString() : Fail<string?>(null, errors, $"{path}: expected a string");

    private static bool? Bool(JsonElement e, string path, List<string> errors) =>
        e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : Fail<bool?>(null, errors, $"{path}: expected true or false");

    private static long? Integer(JsonElement e, string path, long min, long max, List<string> errors) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long n) && n >= min && n <= max
            ? n
            : Fail<long?>(null, errors, $"{path}: expected a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");

    private static double? Number(JsonElement e, string path, List<string> errors) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double n) && n > 0
            ? n
            : Fail<double?>(null, errors, $"{path}: expected a number above 0");

    private static List<ushort> Ports(JsonElement e, string path, List<string> errors) =>
        [.. Array(e, path, errors).Select((p, i) => Integer(p, $"{path}[{i}]", 1, 65535, errors)).OfType<long>().Select(p => (ushort)p)];

    private static IEnumerable<JsonElement> Array(JsonElement e, string path, List<string> errors) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().ToList() : Fail<IEnumerable<JsonElement>>([], errors, $"{path}: expected an array");

    private static IEnumerable<JsonProperty> Object(JsonElement e, string path, List<string> errors) =>
        e.ValueKind == JsonValueKind.Object ? e.EnumerateObject().ToList() : Fail<IEnumerable<JsonProperty>>([], errors, $"{path}: expected an object");

    private static T Unknown<T>(T value, List<string> errors, string path) => Fail(value, errors, $"{path}: unknown key");

    private static T Fail<T>(T value, List<string> errors, string message)
    {
        errors.Add(message);
        return value;
    }

    [GeneratedRegex("^[A-Za-z0-9_]{1,32}$")]
    private static partial Regex TableNamePattern();
}
