using System.Globalization;
using System.Text;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// SSDP over UDP (UDA 1.1 §1): M-SEARCH decoding, search-target matching, and the response, alive and byebye
/// messages.
/// </summary>
public static class SsdpCodec
{
    public const int Port = 1900;
    public const string MulticastAddress = "239.255.255.250";

    /// <summary>The link-local SSDP group for IPv6 (UDA 1.1 Annex A).</summary>
    public const string MulticastAddress6 = "ff02::c";
    public const int MaxDatagram = 2048;

    /// <summary>UDA 1.1 §1.3.3: MX above 5 is treated as 5; a multicast search needs one of at least 1.</summary>
    public const int MaxMx = 5;

    public static SsdpDecodeError TryDecodeSearch(ReadOnlySpan<byte> datagram, bool multicast, out SsdpSearch? search)
    {
        search = null;
        if (datagram.Length is 0 or > MaxDatagram)
        {
            return SsdpDecodeError.Malformed;
        }

        string text = Encoding.ASCII.GetString(datagram);
        string[] lines = text.Split("\r\n");
        if (lines.Length < 2)
        {
            lines = text.Split('\n');
        }

        if (!lines[0].StartsWith("M-SEARCH ", StringComparison.Ordinal))
        {
            return lines[0].Contains("HTTP/1.", StringComparison.Ordinal) ? SsdpDecodeError.NotSearch : SsdpDecodeError.Malformed;
        }

        if (lines[0] != "M-SEARCH * HTTP/1.1")
        {
            return SsdpDecodeError.Malformed;
        }

        string? man = null, mx = null, st = null;
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.Length == 0)
            {
                break;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return SsdpDecodeError.Malformed;
            }

            string name = line[..colon].Trim().ToUpperInvariant();
            string value = line[(colon + 1)..].Trim();
            switch (name)
            {
                case "MAN":
                    man = value;
                    break;
                case "MX":
                    mx = value;
                    break;
                case "ST":
                    st = value;
                    break;
            }
        }

        if (man != "\"ssdp:discover\"")
        {
            return SsdpDecodeError.BadMan;
        }

        int? delay = null;
        if (mx is not null)
        {
            if (!int.TryParse(mx, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds))
            {
                return SsdpDecodeError.BadMx;
            }

            delay = Math.Clamp(seconds, 1, MaxMx);
        }
        else if (multicast)
        {
            return SsdpDecodeError.BadMx;
        }

        if (string.IsNullOrEmpty(st))
        {
            return SsdpDecodeError.NoSearchTarget;
        }

        search = new SsdpSearch(st, delay);
        return SsdpDecodeError.None;
    }

    /// <summary>
    /// The answers to a search target. IGD:1 answers everything it can (ssdp:all, upnp:rootdevice, its
    /// types); a search that only IGD:2 satisfies (a version-2 type, or the IPv6 firewall) gets IGD:2. A device
    /// answers a search for an older version of a type it has, with the searched-for ST (UDA 1.1 §1.3.2).
    /// </summary>
    public static List<SsdpTarget> Match(string searchTarget, RootDevice igd1, RootDevice igd2)
    {
        if (searchTarget == "ssdp:all")
        {
            return Advertisements(igd1);
        }

        if (searchTarget == "upnp:rootdevice")
        {
            return [new SsdpTarget(searchTarget, igd1.Device.Udn + "::upnp:rootdevice", igd1)];
        }

        if (searchTarget.StartsWith("uuid:", StringComparison.Ordinal))
        {
            return [.. new[] { igd1, igd2 }.SelectMany(r => r.Devices.Where(d => d.Udn == searchTarget).Select(d => new SsdpTarget(searchTarget, d.Udn, r)))];
        }

        if (!TrySplitType(searchTarget, out string name, out int version))
        {
            return [];
        }

        foreach (RootDevice root in new[] { igd1, igd2 })
        {
            foreach (DeviceNode device in root.Devices)
            {
                if (TrySplitType(device.DeviceType, out string n, out int v) && n == name && v >= version)
                {
                    return [new SsdpTarget(searchTarget, $"{device.Udn}::{searchTarget}", root)];
                }

                foreach (ServiceDefinition service in device.Services)
                {
                    if (service.TypeName == name && service.Version >= version)
                    {
                        return [new SsdpTarget(searchTarget, $"{device.Udn}::{searchTarget}", root)];
                    }
                }
            }
        }

        return [];
    }

    /// <summary>
    /// What a root device announces (UDA 1.1 §1.2.2): for the root, upnp:rootdevice; for each device its UUID and
    /// type; for each service its type. Only IGD:1 announces upnp:rootdevice, so that a client that takes the
    /// first root device it hears gets the description every client understands.
    /// </summary>
    public static List<SsdpTarget> Advertisements(RootDevice root)
    {
        var list = new List<SsdpTarget>();
        if (root.IgdVersion == 1)
        {
            list.Add(new SsdpTarget("upnp:rootdevice", root.Device.Udn + "::upnp:rootdevice", root));
        }

        foreach (DeviceNode device in root.Devices)
        {
            list.Add(new SsdpTarget(device.Udn, device.Udn, root));
            list.Add(new SsdpTarget(device.DeviceType, $"{device.Udn}::{device.DeviceType}", root));
            foreach (ServiceDefinition service in device.Services)
            {
                list.Add(new SsdpTarget(service.ServiceType, $"{device.Udn}::{service.ServiceType}", root));
            }
        }

        return list;
    }

    public static string Response(SsdpTarget target, string location, SsdpIdentity identity, DateTimeOffset now) =>
        "HTTP/1.1 200 OK\r\n"
        + $"CACHE-CONTROL: max-age={identity.MaxAge}\r\n"
        + $"DATE: {now.ToString("r", CultureInfo.InvariantCulture)}\r\n"
        + "EXT:\r\n"
        + $"LOCATION: {location}\r\n"
        + $"SERVER: {identity.Server}\r\n"
        + $"ST: {target.Target}\r\n"
        + $"USN: {target.Usn}\r\n"
        + $"BOOTID.UPNP.ORG: {identity.BootId}\r\n"
        + $"CONFIGID.UPNP.ORG: {identity.ConfigId}\r\n"
        + "\r\n";

    /// <summary>The HOST header of a multicast message: the group and port, an IPv6 group in brackets.</summary>
    public static string GroupHost(bool ipv6) => ipv6 ? $"[FF02::C]:{Port}" : $"{MulticastAddress}:{Port}";

    public static string Alive(SsdpTarget target, string location, SsdpIdentity identity, bool ipv6 = false) =>
        "NOTIFY * HTTP/1.1\r\n"
        + $"HOST: {GroupHost(ipv6)}\r\n"
        + $"CACHE-CONTROL: max-age={identity.MaxAge}\r\n"
        + $"LOCATION: {location}\r\n"
        + $"NT: {target.Target}\r\n"
        + "NTS: ssdp:alive\r\n"
        + $"SERVER: {identity.Server}\r\n"
        + $"USN: {target.Usn}\r\n"
        + $"BOOTID.UPNP.ORG: {identity.BootId}\r\n"
        + $"CONFIGID.UPNP.ORG: {identity.ConfigId}\r\n"
        + "\r\n";

    public static string ByeBye(SsdpTarget target, SsdpIdentity identity, bool ipv6 = false) =>
        "NOTIFY * HTTP/1.1\r\n"
        + $"HOST: {GroupHost(ipv6)}\r\n"
        + $"NT: {target.Target}\r\n"
        + "NTS: ssdp:byebye\r\n"
        + $"USN: {target.Usn}\r\n"
        + $"BOOTID.UPNP.ORG: {identity.BootId}\r\n"
        + $"CONFIGID.UPNP.ORG: {identity.ConfigId}\r\n"
        + "\r\n";

    /// <summary>Splits "urn:domain:device|service:Name:Version" into the part before the version and the version.</summary>
    private static bool TrySplitType(string type, out string name, out int version)
    {
        name = string.Empty;
        version = 0;
        int colon = type.LastIndexOf(':');
        if (!type.StartsWith("urn:", StringComparison.Ordinal) || colon < 0
            || !int.TryParse(type.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out version) || version < 1)
        {
            return false;
        }

        name = type[..colon];
        return true;
    }
}
