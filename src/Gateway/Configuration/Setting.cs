using System.Collections;
using System.Text.Json;

namespace PortMapper.Gateway.Configuration;

/// <summary>
/// One key of the configuration file, declared once in <see cref="SettingTable"/>: its dotted key, how its value
/// is read and checked into <see cref="GatewaySettings"/> (whose property holds the default), how the running
/// value is read back, and whether a reload (SIGHUP) applies it or only a restart does.
/// </summary>
public sealed record Setting(string Key, bool Reloadable, Func<GatewaySettings, object?> Value, Setting.Reader Read)
{
    /// <summary>Reads <paramref name="value"/> (found at <paramref name="path"/>) into the settings, or adds an error and leaves them.</summary>
    public delegate GatewaySettings Reader(JsonElement value, string path, GatewaySettings settings, List<string> errors);

    /// <summary>Whether the setting has the same value in both (lists compare element by element).</summary>
    public bool Same(GatewaySettings a, GatewaySettings b) => (Value(a), Value(b)) switch
    {
        (string x, string y) => x == y,
        (IEnumerable x, IEnumerable y) => x.Cast<object?>().SequenceEqual(y.Cast<object?>()),
        var (x, y) => Equals(x, y),
    };
}
