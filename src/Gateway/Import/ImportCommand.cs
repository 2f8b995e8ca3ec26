using System.Net;
using PortMapper.Gateway.Configuration;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Network;
using PortMapper.Gateway.Persistence;

namespace PortMapper.Gateway.Import;

/// <summary>
/// <c>portmapper import-miniupnpd FILE [LEASEFILE]</c>: prints (or writes) the converted configuration, imports the
/// leases into a state directory when one is given (with the daemon stopped), and says what it could not convert.
/// </summary>
public static class ImportCommand
{
    public static int Run(string configPath, string? leasePath, string? output, string? stateDirectory, TextWriter stdout, TextWriter stderr)
    {
        var import = new MiniupnpdImport();
        var inventory = new SystemNetworkInventory();
        try
        {
            import.ReadConfig(File.ReadAllText(configPath), address =>
                inventory.Interfaces().FirstOrDefault(i => i.Addresses.Any(a => a.Address.Equals(address)))?.Name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot read {configPath}: {e.Message}");
            return 1;
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        leasePath ??= import.LeaseFile is { } named && File.Exists(named) ? named : null;
        if (leasePath is not null)
        {
            try
            {
                import.ReadLeases(File.ReadAllText(leasePath), now);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"error: cannot read {leasePath}: {e.Message}");
                return 1;
            }
        }

        // The result must be a configuration this daemon accepts.
        string json = import.ConfigJson();
        var errors = new List<string>();
        ConfigFile.Read(json, new GatewaySettings(), errors);
        if (errors.Count > 0)
        {
            errors.ForEach(e => stderr.WriteLine("error: converted configuration: " + e));
            return Program.BadConfiguration;
        }

        if (output is null)
        {
            stdout.Write(json);
        }
        else
        {
            File.WriteAllText(output, json);
        }

        int imported = stateDirectory is null ? 0 : ImportLeases(import.Leases, stateDirectory, now, stderr);
        stderr.WriteLine($"converted ({import.Converted.Count}):");
        import.Converted.ToList().ForEach(c => stderr.WriteLine("  " + c));
        stderr.WriteLine($"not converted ({import.NotConverted.Count}):");
        import.NotConverted.ToList().ForEach(c => stderr.WriteLine("  " + c));
        stderr.WriteLine(stateDirectory is null
            ? $"leases: {import.Leases.Count} read; give --state-dir (with the daemon stopped) to import them"
            : $"leases: {imported} of {import.Leases.Count} imported into {stateDirectory}");
        return 0;
    }

    /// <summary>Adds the leases to the state directory's journal as UPnP leases; one whose port is already held is reported and skipped.</summary>
    private static int ImportLeases(List<Lease> leases, string stateDirectory, DateTimeOffset now, TextWriter stderr)
    {
        Directory.CreateDirectory(stateDirectory);
        using var store = new LeaseStore(stateDirectory, fsync: true);
        StoredState stored = store.Load();
        // Only clashes are refused here; the daemon's own admission (policy, quotas, its ports) judges every lease at start.
        Policy anything = new([
            new PolicyRule(true, new PortRange(1, 65535), IPNetwork.Parse("0.0.0.0/0"), new PortRange(1, 65535)),
            new PolicyRule(true, new PortRange(1, 65535), IPNetwork.Parse("::/0"), new PortRange(1, 65535)),
        ]);
        var table = new LeaseTable(new LeaseTableOptions(uint.MaxValue, int.MaxValue, false, new HashSet<ushort>(), int.MaxValue), anything, stored.NextId);
        foreach (Lease lease in stored.Leases)
        {
            table.Restore(lease, now);
        }

        int imported = 0;
        foreach (Lease lease in leases)
        {
            if (table.Restore(lease with { Id = table.NextId }, now) is { } reason)
            {
                stderr.WriteLine($"  lease {lease.Protocol} {lease.ExternalPort}: {reason}; skipped");
            }
            else
            {
                imported++;
            }
        }

        store.Compact(table.Leases, stored.EpochStart ?? now, stored.EpochAddress, table.NextId);
        return imported;
    }
}
