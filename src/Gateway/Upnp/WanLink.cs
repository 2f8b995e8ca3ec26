using System.Globalization;

namespace PortMapper.Gateway.Upnp;

/// <summary>The WAN interface as sysfs shows it: link state, speed and counters (WANCommonInterfaceConfig:1).</summary>
public static class WanLink
{
    /// <summary>"Up" when the kernel says the link is up (operstate up, or unknown with carrier, as on tunnels).</summary>
    public static string Status(string wan)
    {
        string state = ReadSys(wan, "operstate") ?? "down";
        return state == "up" || (state == "unknown" && ReadSys(wan, "carrier") == "1") ? "Up" : "Down";
    }

    /// <summary>The counter modulo 2^32: the state variables are ui4 and wrap, as the specification expects.</summary>
    public static uint Counter(string wan, string name) =>
        ulong.TryParse(ReadSys(wan, "statistics/" + name), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value)
            ? (uint)(value & uint.MaxValue)
            : 0;

    /// <summary>The link speed in bit/s (sysfs gives Mbit/s; -1 or absent when unknown), capped at ui4's range.</summary>
    public static uint BitRate(string wan) =>
        long.TryParse(ReadSys(wan, "speed"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long mbps) && mbps > 0
            ? (uint)Math.Min(mbps * 1_000_000L, uint.MaxValue)
            : 0;

    /// <summary>The kernel's idle timeout for established TCP (6) or UDP (17) flows, in seconds.</summary>
    public static uint OutboundTimeout(ushort protocolNumber) => ReadUInt(protocolNumber == 6
        ? "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established"
        : "/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream");

    private static uint ReadUInt(string path)
    {
        try
        {
            return uint.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or OverflowException)
        {
            return 0;
        }
    }

    private static string? ReadSys(string wan, string name)
    {
        try
        {
            return File.ReadAllText($"/sys/class/net/{wan}/{name}").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
