using System.Net;

namespace PortMapper.Gateway.Network;

/// <summary>An address assigned to an interface, with the subnet it makes directly reachable.</summary>
public readonly record struct InterfaceAddress
{
    public InterfaceAddress(IPAddress address, int prefixLength)
    {
        Address = address;
        PrefixLength = prefixLength;
        Subnet = new IPNetwork(Mask(address, prefixLength), prefixLength);
    }

    public IPAddress Address { get; }

    public int PrefixLength { get; }

    public IPNetwork Subnet { get; }

    public override string ToString() => $"{Address}/{PrefixLength}";

    private static IPAddress Mask(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefixLength - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes);
    }
}
