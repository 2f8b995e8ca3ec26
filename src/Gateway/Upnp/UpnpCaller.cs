using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Network;

namespace PortMapper.Gateway.Upnp;

/// <summary>Who sent a control request (its address and its device), and on which LAN it arrived.</summary>
public sealed record UpnpCaller(IPAddress Address, LanInterface Lan, DeviceId Device = default)
{
    /// <summary>The device, or the address standing for it when none was resolved.</summary>
    public DeviceId Owner => Device.HasMac || Device.Address is not null ? Device : DeviceId.OfAddress(Address);
}
