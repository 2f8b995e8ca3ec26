using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;

namespace PortMapper.Gateway.Devices;

/// <summary>
/// A LAN device as the link layer sees it: its MAC address (48 bits, nonzero), or, where the kernel has no
/// neighbour entry for the source, the source address itself. One device may use an IPv4 address and any
/// number of IPv6 addresses; quotas, rate limits and connection limits count per device.
/// </summary>
public readonly record struct DeviceId
{
    private DeviceId(ulong mac, IPAddress? address)
    {
        Mac = mac;
        Address = address;
    }

    /// <summary>The MAC address as a number; 0 when the device is known only by <see cref="Address"/>.</summary>
    public ulong Mac { get; }

    /// <summary>The address standing in for a device whose MAC is unknown; null when <see cref="Mac"/> is set.</summary>
    public IPAddress? Address { get; }

    public bool HasMac => Mac != 0;

    public static DeviceId OfMac(ulong mac) => mac == 0 ? throw new ArgumentOutOfRangeException(nameof(mac)) : new DeviceId(mac, null);

    public static DeviceId OfMac(PhysicalAddress mac)
    {
        ReadOnlySpan<byte> bytes = mac.GetAddressBytes();
        ulong value = 0;
        foreach (byte b in bytes)
        {
            value = (value << 8) | b;
        }

        return OfMac(value);
    }

    public static DeviceId OfAddress(IPAddress address) =>
        new(0, address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : new IPAddress(address.GetAddressBytes()));

    /// <summary>The MAC as "aa:bb:cc:dd:ee:ff", or null when the device is known only by its address.</summary>
    public string? MacText
    {
        get
        {
            if (!HasMac)
            {
                return null;
            }

            ulong mac = Mac;
            return string.Join(':', Enumerable.Range(0, 6).Select(i => ((byte)(mac >> (40 - (8 * i)))).ToString("x2", CultureInfo.InvariantCulture)));
        }
    }

    public override string ToString() => MacText ?? Address?.ToString() ?? "(none)";

    /// <summary>Parses "aa:bb:cc:dd:ee:ff" (or with dashes) or an IP address.</summary>
    public static bool TryParse(string text, out DeviceId device)
    {
        device = default;
        if (IPAddress.TryParse(text, out IPAddress? address) && !text.Contains('-', StringComparison.Ordinal))
        {
            device = OfAddress(address);
            return true;
        }

        string[] parts = text.Split(':', '-');
        ulong value = 0;
        if (parts.Length != 6)
        {
            return false;
        }

        foreach (string part in parts)
        {
            if (part.Length != 2 || !byte.TryParse(part, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                return false;
            }

            value = (value << 8) | b;
        }

        if (value == 0)
        {
            return false;
        }

        device = OfMac(value);
        return true;
    }
}
