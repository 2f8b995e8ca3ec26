using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using PortMapper.Gateway.Leases;

namespace PortMapper.Gateway.Engine;

/// <summary>
/// What a clean stop leaves beside the journal (<c>STATE_DIR/kernel.stamp</c>) so that the next start can take over
/// the kernel's table rather than rebuild it: the backend's stamp of the kernel (boot, network namespace, nftables
/// generation, the table's shape), the external address, and a digest of the leases the table held. Taken (read and
/// removed) at start, so a run that ends in a crash leaves none and the next start rebuilds.
/// </summary>
public sealed record KernelStamp(string Kernel, IPAddress? External, string Leases)
{
    public const string FileName = "kernel.stamp";

    public static void Write(string directory, KernelStamp stamp)
    {
        string path = Path.Combine(directory, FileName);
        File.WriteAllText(path, $"{stamp.Kernel}\n{stamp.External?.ToString() ?? "-"}\n{stamp.Leases}\n");
    }

    /// <summary>The stamp the last stop left, removed from disk; null when there is none or it cannot be read.</summary>
    public static KernelStamp? Take(string directory)
    {
        string path = Path.Combine(directory, FileName);
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            string[] lines = File.ReadAllLines(path);
            File.Delete(path);
            if (lines.Length < 3 || lines[0].Length == 0 || lines[2].Length == 0)
            {
                return null;
            }

            IPAddress? external = lines[1] == "-" ? null : IPAddress.TryParse(lines[1], out IPAddress? address) ? address : null;
            return lines[1] != "-" && external is null ? null : new KernelStamp(lines[0], external, lines[2]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A digest of what the kernel holds for these leases: each one's identity, endpoints, filters and end, in id order.</summary>
    public static string Digest(IEnumerable<Lease> leases)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var line = new StringBuilder(128);
        foreach (Lease lease in leases.OrderBy(l => l.Id))
        {
            line.Clear();
            line.Append(CultureInfo.InvariantCulture, $"{lease.Id} {lease.Protocol} {lease.ExternalPort} {lease.InternalAddress} {lease.InternalPort} {lease.Expires?.ToUnixTimeSeconds()} {lease.RemotePeer}");
            foreach (var filter in lease.Filters ?? [])
            {
                line.Append(CultureInfo.InvariantCulture, $" {filter.Network}:{filter.Port}");
            }

            line.Append('\n');
            hash.AppendData(Encoding.UTF8.GetBytes(line.ToString()));
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
