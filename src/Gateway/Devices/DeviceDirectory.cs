using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using PortMapper.Gateway.Leases;

namespace PortMapper.Gateway.Devices;

/// <summary>A device as the directory knows it, for the API and the page.</summary>
public sealed record DeviceEntry(
    DeviceId Id,
    IReadOnlyList<IPAddress> Addresses,
    string? Hostname,
    DateTimeOffset? FirstSeen,
    DateTimeOffset? LastSeen,
    int Leases,
    bool Allowed,
    string PermissionSource,
    bool OpenNat = false,
    string OpenNatSource = "off");

/// <summary>
/// The devices that asked for or hold a mapping, and whether each may: a permission set at run time (kept in the
/// state directory, so it survives restarts), else the first configured rule that matches (by MAC, address or
/// prefix), else the default. Thread-safe: requests record sightings from any thread, the engine asks permission.
/// </summary>
public sealed class DeviceDirectory
{
    public const string FileName = "devices.json";

    /// <summary>Sightings kept (the least recently seen go first); leases and permissions are kept regardless.</summary>
    public const int MaxDevices = 4096;

    private const int MaxAddressesPerDevice = 16;

    private readonly Lock _lock = new();
    private readonly string? _stateDirectory;
    private readonly TimeProvider _time;
    private readonly Dictionary<DeviceId, Sighting> _seen = [];
    private volatile Dictionary<string, bool> _overrides = new(StringComparer.OrdinalIgnoreCase);
    private volatile Dictionary<string, bool> _openNatSet = new(StringComparer.OrdinalIgnoreCase);
    private volatile Policy _policy;
    private (string Path, DateTime Modified, long Length, DhcpLeaseFile File)? _leases;

    public DeviceDirectory(string? stateDirectory, bool defaultAllow, IReadOnlyList<DeviceRule> rules, string? leaseFile, TimeProvider? time = null, IReadOnlyList<string>? openNat = null)
    {
        _stateDirectory = stateDirectory;
        _time = time ?? TimeProvider.System;
        _policy = new Policy(defaultAllow, [.. rules], leaseFile, [.. openNat ?? []]);
        LoadError = Load();
    }

    /// <summary>Why the saved permissions could not be read at start (they are then empty), or null.</summary>
    public string? LoadError { get; }

    public bool DefaultAllow => _policy.DefaultAllow;

    public void Reconfigure(bool defaultAllow, IReadOnlyList<DeviceRule> rules, string? leaseFile, IReadOnlyList<string>? openNat = null) =>
        _policy = new Policy(defaultAllow, [.. rules], leaseFile, [.. openNat ?? []]);

    /// <summary>Whether Open NAT is on for the device kept under <paramref name="key"/> (its MAC or address): set at run time, else the configuration.</summary>
    public (bool On, string Source) OpenNatOf(string key) =>
        _openNatSet.TryGetValue(key, out bool set) ? (set, "set")
        : _policy.OpenNat.Contains(key, StringComparer.OrdinalIgnoreCase) ? (true, "config")
        : (false, "off");

    /// <summary>
    /// The devices the kernel should give Open NAT: on (set or configured) and allowed to map ports (a denied device
    /// may open nothing). MACs, and IPv4 addresses for devices known by address.
    /// </summary>
    public (List<ulong> Macs, List<IPAddress> Addresses) OpenNatTargets()
    {
        var macs = new List<ulong>();
        var addresses = new List<IPAddress>();
        foreach (string key in _policy.OpenNat.Concat(_openNatSet.Keys).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!OpenNatOf(key).On)
            {
                continue;
            }

            if (DeviceRule.TryParseMac(key, out ulong mac))
            {
                if (Decide(DeviceId.OfMac(mac), IPAddress.Any).Allow)
                {
                    macs.Add(mac);
                }
            }
            else if (IPAddress.TryParse(key, out IPAddress? address) && address.AddressFamily == AddressFamily.InterNetwork
                && Decide(DeviceId.OfAddress(address), address).Allow)
            {
                addresses.Add(address);
            }
        }

        return (macs, addresses);
    }

    /// <summary>Turns Open NAT on or off for a device (a MAC, or an IPv4 address) and saves it; false (with why) when it cannot be saved.</summary>
    public bool TrySetOpenNat(string key, bool on, out string? error)
    {
        if (!NormalizeKey(key, out string? normalized) || (!DeviceRule.TryParseMac(normalized!, out _) && IPAddress.Parse(normalized!).AddressFamily != AddressFamily.InterNetwork))
        {
            error = $"'{key}' is neither a MAC address nor an IPv4 address (Open NAT is for IPv4)";
            return false;
        }

        lock (_lock)
        {
            var next = new Dictionary<string, bool>(_openNatSet, StringComparer.OrdinalIgnoreCase) { [normalized!] = on };
            if (!Save(_overrides, next, out error))
            {
                return false;
            }

            _openNatSet = next;
            return true;
        }
    }

    /// <summary>A request came from <paramref name="device"/> at <paramref name="address"/>.</summary>
    public void Seen(DeviceId device, IPAddress address)
    {
        DateTimeOffset now = _time.GetUtcNow();
        address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        bool isNew = false;
        lock (_lock)
        {
            if (!_seen.TryGetValue(device, out Sighting? sighting))
            {
                if (_seen.Count >= MaxDevices)
                {
                    _seen.Remove(_seen.MinBy(s => s.Value.Last).Key);
                }

                sighting = new Sighting(now);
                _seen.Add(device, sighting);
                isNew = true;
            }

            sighting.Last = now;
            if (!sighting.Addresses.Contains(address))
            {
                if (sighting.Addresses.Count >= MaxAddressesPerDevice)
                {
                    sighting.Addresses.RemoveAt(0);
                }

                sighting.Addresses.Add(address);
            }
        }

        if (isNew)
        {
            FirstSeen?.Invoke(device, address);
        }
    }

    /// <summary>Called (on the engine's thread) the first time a device asks for anything.</summary>
    public Action<DeviceId, IPAddress>? FirstSeen { get; set; }

    /// <summary>The device's DHCP host name, if the lease file has one.</summary>
    public string? NameOf(DeviceId device, IPAddress address) => Names().NameOf(device, [address]);

    /// <summary>Whether the device may map ports (what the admission stage asks for every new or renewed mapping).</summary>
    public bool Permits(DeviceId device, IPAddress client) => Decide(device, client).Allow;

    public (bool Allow, string Source) Decide(DeviceId device, IPAddress client)
    {
        if (_overrides.TryGetValue(KeyOf(device, client), out bool set))
        {
            return (set, "set");
        }

        Policy policy = _policy;
        foreach (DeviceRule rule in policy.Rules)
        {
            if (rule.Matches(device, client))
            {
                return (rule.Allow, "rule");
            }
        }

        return (policy.DefaultAllow, "default");
    }

    /// <summary>The key a device's permission is kept under: its MAC, or the address that stands for it.</summary>
    public static string KeyOf(DeviceId device, IPAddress client) =>
        device.MacText ?? (device.Address ?? (client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client)).ToString();

    /// <summary>
    /// Sets a device's permission (a MAC, or an address for a device known by address) and saves every set
    /// permission in the state directory; false (with why) when it cannot be saved, and nothing changes then.
    /// </summary>
    public bool TrySet(string key, bool allow, out string? error)
    {
        if (!NormalizeKey(key, out string? normalized))
        {
            error = $"'{key}' is neither a MAC address (aa:bb:cc:dd:ee:ff) nor an IP address";
            return false;
        }

        lock (_lock)
        {
            var next = new Dictionary<string, bool>(_overrides, StringComparer.OrdinalIgnoreCase) { [normalized!] = allow };
            if (!Save(next, _openNatSet, out error))
            {
                return false;
            }

            _overrides = next;
            return true;
        }
    }

    public static bool NormalizeKey(string key, out string? normalized)
    {
        if (DeviceRule.TryParseMac(key, out ulong mac))
        {
            normalized = DeviceId.OfMac(mac).MacText;
            return true;
        }

        if (IPAddress.TryParse(key, out IPAddress? address))
        {
            normalized = (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
            return true;
        }

        normalized = null;
        return false;
    }

    /// <summary>Every device seen, holding leases, or with a permission set; newest first.</summary>
    public List<DeviceEntry> Entries(IReadOnlyList<Lease> leases, DateTimeOffset now, IReadOnlyList<(IPAddress Address, ulong Mac)>? openNatHosts = null)
    {
        var byDevice = new Dictionary<DeviceId, (List<IPAddress> Addresses, DateTimeOffset? First, DateTimeOffset? Last, int Leases)>();
        lock (_lock)
        {
            foreach ((DeviceId id, Sighting s) in _seen)
            {
                byDevice[id] = ([.. s.Addresses], s.First, s.Last, 0);
            }
        }

        foreach (Lease lease in leases.Where(l => l.IsLive(now)))
        {
            DeviceId owner = lease.Owner;
            var entry = byDevice.TryGetValue(owner, out var found) ? found : ([], null, null, 0);
            if (!entry.Addresses.Contains(lease.Client))
            {
                entry.Addresses.Add(lease.Client);
            }

            byDevice[owner] = entry with { Leases = entry.Leases + 1 };
        }

        foreach (string key in _overrides.Keys.Concat(_openNatSet.Keys).Concat(_policy.OpenNat))
        {
            DeviceId id = DeviceRule.TryParseMac(key, out ulong mac) ? DeviceId.OfMac(mac) : DeviceId.OfAddress(IPAddress.Parse(key));
            if (!byDevice.ContainsKey(id))
            {
                byDevice[id] = (id.Address is { } a ? [a] : [], null, null, 0);
            }
        }

        // The addresses the kernel learned for Open NAT devices known by MAC.
        foreach ((IPAddress address, ulong mac) in openNatHosts ?? [])
        {
            if (mac != 0 && byDevice.TryGetValue(DeviceId.OfMac(mac), out var entry) && !entry.Addresses.Contains(address))
            {
                entry.Addresses.Add(address);
            }
        }

        DhcpLeaseFile names = Names();
        return [.. byDevice
            .Select(d =>
            {
                IPAddress first = d.Value.Addresses.FirstOrDefault() ?? d.Key.Address ?? IPAddress.Any;
                (bool allow, string source) = Decide(d.Key, first);
                IReadOnlyList<IPAddress> ordered = [.. d.Value.Addresses.OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1).ThenBy(a => a.ToString(), StringComparer.Ordinal)];
                (bool openNat, string openNatSource) = OpenNatOf(KeyOf(d.Key, first));
                return new DeviceEntry(d.Key, ordered, names.NameOf(d.Key, ordered), d.Value.First, d.Value.Last, d.Value.Leases, allow, source, openNat && allow, openNatSource);
            })
            .OrderByDescending(e => e.LastSeen ?? DateTimeOffset.MinValue)
            .ThenBy(e => e.Id.ToString(), StringComparer.Ordinal)];
    }

    /// <summary>The DHCP server's names, read again whenever the lease file changed.</summary>
    private DhcpLeaseFile Names()
    {
        string? path = _policy.LeaseFile;
        if (path is null)
        {
            return DhcpLeaseFile.Empty;
        }

        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > 4 << 20)
            {
                return DhcpLeaseFile.Empty;
            }

            lock (_lock)
            {
                if (_leases is { } cached && cached.Path == path && cached.Modified == info.LastWriteTimeUtc && cached.Length == info.Length)
                {
                    return cached.File;
                }
            }

            DhcpLeaseFile file = DhcpLeaseFile.Parse(File.ReadAllText(path));
            lock (_lock)
            {
                _leases = (path, info.LastWriteTimeUtc, info.Length, file);
            }

            return file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return DhcpLeaseFile.Empty;
        }
    }

    private string? Load()
    {
        if (_stateDirectory is null)
        {
            return null;
        }

        string path = Path.Combine(_stateDirectory, FileName);
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
            var loaded = new Dictionary<string, bool>(StringComparer.OrdinalIgnoreCase);
            if (document.RootElement.TryGetProperty("permissions", out JsonElement permissions) && permissions.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in permissions.EnumerateObject())
                {
                    if (NormalizeKey(p.Name, out string? key) && p.Value.GetString() is "allow" or "deny")
                    {
                        loaded[key!] = p.Value.GetString() == "allow";
                    }
                }
            }

            _overrides = loaded;
            var openNat = new Dictionary<string, bool>(StringComparer.OrdinalIgnoreCase);
            if (document.RootElement.TryGetProperty("openNat", out JsonElement saved) && saved.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in saved.EnumerateObject())
                {
                    if (NormalizeKey(p.Name, out string? key) && p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                    {
                        openNat[key!] = p.Value.GetBoolean();
                    }
                }
            }

            _openNatSet = openNat;
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            return e.Message;
        }
    }

    private bool Save(Dictionary<string, bool> permissions, Dictionary<string, bool> openNat, out string? error)
    {
        error = null;
        if (_stateDirectory is null)
        {
            return true;
        }

        string path = Path.Combine(_stateDirectory, FileName);
        string temporary = path + ".new";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    json.WriteStartObject();
                    json.WriteStartObject("permissions");
                    foreach ((string key, bool allow) in permissions.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        json.WriteString(key, allow ? "allow" : "deny");
                    }

                    json.WriteEndObject();
                    json.WriteStartObject("openNat");
                    foreach ((string key, bool on) in openNat.OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        json.WriteBoolean(key, on);
                    }

                    json.WriteEndObject();
                    json.WriteEndObject();
                }

                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot save {path}: {e.Message}";
            try
            {
                File.Delete(temporary);
            }
            catch (IOException)
            {
            }

            return false;
        }
    }

    private sealed class Sighting(DateTimeOffset first)
    {
        public DateTimeOffset First { get; } = first;

        public DateTimeOffset Last { get; set; } = first;

        public List<IPAddress> Addresses { get; } = [];
    }

    private sealed record Policy(bool DefaultAllow, DeviceRule[] Rules, string? LeaseFile, string[] OpenNat);
}
