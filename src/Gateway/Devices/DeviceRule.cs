using System.Globalization;
using System.Net;

namespace PortMapper.Gateway.Devices;

/// <summary>
/// Whether a device may map ports: by its MAC address, or by an address or prefix it uses (for devices the
/// gateway knows only by address, or a whole subnet). The first matching rule decides.
/// </summary>
public sealed record DeviceRule(ulong Mac, IPNetwork? Network, bool Allow)
{
    public bool Matches(DeviceId device, IPAddress client) =>
        Mac != 0 ? device.Mac == Mac : Network is { } network && network.Contains(client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client);

    /// <summary>"aa:bb:cc:dd:ee:ff" (or with '-'), an address, or a prefix ("192.168.1.0/24").</summary>
    public static bool TryParseTarget(string text, out ulong mac, out IPNetwork? network)
    {
        network = null;
        if (TryParseMac(text, out mac))
        {
            return true;
        }

        if (IPAddress.TryParse(text, out IPAddress? address))
        {
            network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        if (IPNetwork.TryParse(text, out IPNetwork parsed))
        {
            network = parsed;
            return true;
        }

        return false;
    }

    public static bool TryParseMac(string text, out ulong mac)
    {
        mac = 0;
        string[] parts = text.Trim().Split(text.Contains('-', StringComparison.Ordinal) ? '-' : ':');
        if (parts.Length != 6)
        {
            return false;
        }

        foreach (string part in parts)
        {
            if (part.Length is < 1 or > 2 || !byte.TryParse(part, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                mac = 0;
                return false;
            }

            mac = (mac << 8) | b;
        }

        return mac != 0;
    }
}
