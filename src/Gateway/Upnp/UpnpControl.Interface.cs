using System.Globalization;
using PortMapper.Protocols.Upnp;
using static PortMapper.Gateway.Upnp.SoapResult;

namespace PortMapper.Gateway.Upnp;

/// <summary>WANCommonInterfaceConfig:1: the WAN interface's real link state and counters, read from sysfs.</summary>
public sealed partial class UpnpControl
{
    private SoapResult CommonInterface(SoapCall call)
    {
        string wan = _options.WanInterface;
        return call.ActionName switch
        {
            "GetCommonLinkProperties" => Ok(
                Out("NewWANAccessType", "Ethernet"),
                Out("NewLayer1UpstreamMaxBitRate", BitRate(wan)),
                Out("NewLayer1DownstreamMaxBitRate", BitRate(wan)),
                Out("NewPhysicalLinkStatus", LinkStatus(wan))),
            "GetTotalBytesSent" => Ok(Out("NewTotalBytesSent", Counter(wan, "tx_bytes"))),
            "GetTotalBytesReceived" => Ok(Out("NewTotalBytesReceived", Counter(wan, "rx_bytes"))),
            "GetTotalPacketsSent" => Ok(Out("NewTotalPacketsSent", Counter(wan, "tx_packets"))),
            "GetTotalPacketsReceived" => Ok(Out("NewTotalPacketsReceived", Counter(wan, "rx_packets"))),
            _ => Fail(UpnpError.InvalidAction),
        };
    }

    /// <summary>"Up" when the kernel says the link is up (operstate up, or unknown with carrier, as on tunnels).</summary>
    public static string LinkStatus(string wan)
    {
        string state = ReadSys(wan, "operstate") ?? "down";
        return state == "up" || (state == "unknown" && ReadSys(wan, "carrier") == "1") ? "Up" : "Down";
    }

    /// <summary>The counter modulo 2^32: the state variables are ui4 and wrap, as the specification expects.</summary>
    private static string Counter(string wan, string name) =>
        ulong.TryParse(ReadSys(wan, "statistics/" + name), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value)
            ? ((uint)(value & uint.MaxValue)).ToString(CultureInfo.InvariantCulture)
            : "0";

    /// <summary>The link speed in bit/s (sysfs gives Mbit/s; -1 or absent when unknown), capped at ui4's range.</summary>
    private static string BitRate(string wan) =>
        long.TryParse(ReadSys(wan, "speed"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long mbps) && mbps > 0
            ? ((uint)Math.Min(mbps * 1_000_000L, uint.MaxValue)).ToString(CultureInfo.InvariantCulture)
            : "0";

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
