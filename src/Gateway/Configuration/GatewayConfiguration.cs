using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.Network;
using PortMapper.Protocols.NatPmp;

namespace PortMapper.Gateway.Configuration;

/// <summary>Turns settings into <see cref="GatewayOptions"/>, checking them against the machine's interfaces.</summary>
public static partial class GatewayConfiguration
{
    private static readonly string[] s_logLevels = ["verbose", "debug", "information", "warning", "error", "fatal"];

    /// <summary>Ports the gateway itself uses; never handed out as external ports. Each listener adds its own.</summary>
    public static readonly IReadOnlyList<ushort> OwnPorts = [NatPmpCodec.ClientPort, NatPmpCodec.ServerPort];

    public static GatewayOptions? Resolve(GatewaySettings settings, INetworkInventory inventory, List<string> errors)
    {
        if (!s_logLevels.Contains(settings.LogLevel.ToLowerInvariant()))
        {
            errors.Add($"logLevel: '{settings.LogLevel}' is not one of {string.Join(", ", s_logLevels)}");
        }

        if (string.IsNullOrWhiteSpace(settings.StateDirectory) || !Path.IsPathFullyQualified(settings.StateDirectory))
        {
            errors.Add($"stateDir: '{settings.StateDirectory}' is not an absolute path");
        }

        IReadOnlyList<NetworkInterfaceInfo> interfaces = inventory.Interfaces();
        string? wan = settings.Wan ?? inventory.DefaultRouteInterface();
        if (wan is null)
        {
            errors.Add("wan: no interface given and there is no IPv4 default route to take it from");
        }
        else if (CheckInterface(wan, "wan", interfaces, errors) is null)
        {
            wan = null;
        }

        var lans = new List<LanInterface>();
        IEnumerable<string> lanNames = settings.Lan.Count > 0
            ? settings.Lan
            : interfaces.Where(i => i.IsUp && !i.IsLoopback && i.Name != wan && i.Addresses.Any(IsIPv4)).Select(i => i.Name);
        foreach (string name in lanNames)
        {
            if (CheckInterface(name, "lan", interfaces, errors) is not { } info)
            {
                continue;
            }

            if (name == wan)
            {
                errors.Add($"lan: '{name}' is the WAN interface");
            }
            else if (!info.Addresses.Any(IsIPv4))
            {
                errors.Add($"lan: '{name}' has no IPv4 address");
            }
            else
            {
                lans.Add(new LanInterface(name, info.Addresses, info.Index));
            }
        }

        if (lans.Count == 0 && settings.Lan.Count == 0)
        {
            errors.Add("lan: no interface given and no other interface is up with an IPv4 address");
        }

        var reserved = new HashSet<ushort>(OwnPorts);
        foreach (PortRange range in settings.ReservedPorts)
        {
            for (int p = range.Low; p <= range.High; p++)
            {
                reserved.Add((ushort)p);
            }
        }

        IPEndPoint? admin = ResolveAdmin(settings.AdminListen, lans, interfaces.FirstOrDefault(i => i.Name == wan), errors);
        if (errors.Count > 0 || wan is null)
        {
            return null;
        }

        Policy policy = settings.Rules is { } rules
            ? new Policy(rules)
            : Policy.ForLanSubnets(lans.SelectMany(l => l.IPv4.Concat(l.GlobalIPv6)).Select(a => a.Subnet).Distinct());
        return new GatewayOptions(settings, wan, lans, policy, reserved, admin);
    }

    /// <summary>The admin endpoint: loopback or a LAN address, never a WAN or wildcard address (which would include the WAN).</summary>
    private static IPEndPoint? ResolveAdmin(string? listen, List<LanInterface> lans, NetworkInterfaceInfo? wan, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(listen))
        {
            return null;
        }

        if (!IPEndPoint.TryParse(listen, out IPEndPoint? endpoint) || endpoint.Port == 0 || !listen.Contains(':', StringComparison.Ordinal))
        {
            errors.Add($"admin: '{listen}' is not ADDRESS:PORT (for example 127.0.0.1:8470)");
            return null;
        }

        IPAddress address = endpoint.Address;
        if (wan is not null && wan.Addresses.Any(a => a.Address.Equals(address)))
        {
            errors.Add($"admin: {address} is a WAN address; the admin endpoint listens on loopback or a LAN address only");
            return null;
        }

        if (!IPAddress.IsLoopback(address) && !lans.Any(l => l.Addresses.Any(a => a.Address.Equals(address))))
        {
            errors.Add($"admin: {address} is neither loopback nor an address of a LAN interface");
            return null;
        }

        return endpoint;
    }

    private static NetworkInterfaceInfo? CheckInterface(string name, string key, IReadOnlyList<NetworkInterfaceInfo> interfaces, List<string> errors)
    {
        if (!InterfaceNamePattern().IsMatch(name))
        {
            errors.Add($"{key}: '{name}' is not an interface name");
            return null;
        }

        NetworkInterfaceInfo? info = interfaces.FirstOrDefault(i => i.Name == name);
        if (info is null)
        {
            errors.Add($"{key}: interface '{name}' does not exist");
        }

        return info;
    }

    private static bool IsIPv4(InterfaceAddress a) => a.Address.AddressFamily == AddressFamily.InterNetwork;

    /// <summary>Linux names: at most 15 characters, none of them space, '/', ':' or quotes.</summary>
    [GeneratedRegex("^[A-Za-z0-9_.@-]{1,15}$")]
    private static partial Regex InterfaceNamePattern();
}
