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

    /// <summary>A top-level key: a setting of the <see cref="SettingTable"/>, or a section whose keys are.</summary>
    private static GatewaySettings ReadTopLevel(JsonProperty p, GatewaySettings s, List<string> errors)
    {
        if (SettingTable.Find(p.Name) is { } setting)
        {
            return setting.Read(p.Value, p.Name, s, errors);
        }

        if (!SettingTable.IsSection(p.Name))
        {
            return Unknown(s, errors, p.Name);
        }

        foreach (JsonProperty f in Object(p.Value, p.Name, errors))
        {
            string key = $"{p.Name}.{f.Name}";
            s = SettingTable.Find(key) is { } inner ? inner.Read(f.Value, key, s, errors) : Unknown(s, errors, key);
        }

        return s;
    }

    internal static PolicyRule? Rule(JsonElement e, string path, List<string> errors)
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

    internal static PortRange? Range(JsonElement e, string path, List<string> errors)
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

    internal static bool CheckTableName(string name, string path, List<string> errors)
    {
        if (TableNamePattern().IsMatch(name))
        {
            return true;
        }

        errors.Add($"{path}: '{name}' is not a table name (letters, digits and _, at most 32)");
        return false;
    }

    /// <summary>{ "device": "aa:bb:cc:dd:ee:ff" | "192.168.1.20" | "192.168.1.0/24", "permission": "allow" | "deny" }</summary>
    /// <summary>An Open NAT device: a MAC, or an IPv4 address (Open NAT is a NAT behaviour: IPv6 has none), normalized.</summary>
    internal static string? OpenNatDeviceOf(JsonElement e, string path, List<string> errors)
    {
        if (String(e, path, errors) is not { } text)
        {
            return null;
        }

        if (Devices.DeviceDirectory.NormalizeKey(text, out string? key) && (Devices.DeviceRule.TryParseMac(key!, out _) || IPAddress.Parse(key!).AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork))
        {
            return key;
        }

        errors.Add($"{path}: '{text}' is neither a MAC address nor an IPv4 address");
        return null;
    }

    internal static Devices.DeviceRule? DeviceRuleOf(JsonElement e, string path, List<string> errors)
    {
        bool? allow = null;
        ulong mac = 0;
        IPNetwork? network = null;
        bool target = false;
        int before = errors.Count;
        foreach (JsonProperty f in Object(e, path, errors))
        {
            string fp = $"{path}.{f.Name}";
            switch (f.Name)
            {
                case "device":
                    if (String(f.Value, fp, errors) is { } text)
                    {
                        target = Devices.DeviceRule.TryParseTarget(text, out mac, out network)
                            || Fail(false, errors, $"{fp}: '{text}' is not a MAC address, an IP address or a prefix");
                    }

                    break;
                case "permission":
                    allow = String(f.Value, fp, errors) switch
                    {
                        "allow" => true,
                        "deny" => false,
                        null => null,
                        var other => Fail<bool?>(null, errors, $"{fp}: '{other}' is not 'allow' or 'deny'"),
                    };
                    break;
                default:
                    Unknown(0, errors, fp);
                    break;
            }
        }

        if (errors.Count == before && (!target || allow is null))
        {
            errors.Add($"{path}: needs \"device\" and \"permission\"");
        }

        return errors.Count == before ? new Devices.DeviceRule(mac, network, allow!.Value) : null;
    }

    internal static string? String(JsonElement e, string path, List<string> errors) =>
        e.ValueKind == JsonValueKind.String ? e.GetString() : Fail<string?>(null, errors, $"{path}: expected a string");

    internal static bool? Bool(JsonElement e, string path, List<string> errors) =>
        e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : Fail<bool?>(null, errors, $"{path}: expected true or false");

    internal static long? Integer(JsonElement e, string path, long min, long max, List<string> errors) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long n) && n >= min && n <= max
            ? n
            : Fail<long?>(null, errors, $"{path}: expected a whole number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");

    internal static double? Number(JsonElement e, string path, List<string> errors) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double n) && n > 0
            ? n
            : Fail<double?>(null, errors, $"{path}: expected a number above 0");

    internal static List<ushort> Ports(JsonElement e, string path, List<string> errors) =>
        [.. Array(e, path, errors).Select((p, i) => Integer(p, $"{path}[{i}]", 1, 65535, errors)).OfType<long>().Select(p => (ushort)p)];

    internal static IEnumerable<JsonElement> Array(JsonElement e, string path, List<string> errors) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().ToList() : Fail<IEnumerable<JsonElement>>([], errors, $"{path}: expected an array");

    internal static IEnumerable<JsonProperty> Object(JsonElement e, string path, List<string> errors) =>
        e.ValueKind == JsonValueKind.Object ? e.EnumerateObject().ToList() : Fail<IEnumerable<JsonProperty>>([], errors, $"{path}: expected an object");

    internal static T Unknown<T>(T value, List<string> errors, string path) => Fail(value, errors, $"{path}: unknown key");

    internal static T Fail<T>(T value, List<string> errors, string message)
    {
        errors.Add(message);
        return value;
    }

    [GeneratedRegex("^[A-Za-z0-9_]{1,32}$")]
    private static partial Regex TableNamePattern();
}
