using System.Net;
using Microsoft.Extensions.Logging;
using PortMapper.Gateway.Logging;
using PortMapper.KernelBackend;

namespace PortMapper.Gateway.Devices;

/// <summary>
/// Tells the kernel which devices get Open NAT (on in the configuration or through the admin endpoint, and allowed
/// to map ports) whenever that may have changed: at start, on a reload, on a device change. The packet path does
/// the rest; nothing here runs per flow.
/// </summary>
public sealed class OpenNatController
{
    private readonly DeviceDirectory _devices;
    private readonly IOpenNat _kernel;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private string? _applied;

    public OpenNatController(DeviceDirectory devices, IOpenNat kernel, ILogger<OpenNatController> logger)
    {
        _devices = devices;
        _kernel = kernel;
        _logger = logger;
    }

    public IOpenNat Kernel => _kernel;

    /// <summary>Sends the current Open NAT devices to the kernel if they changed; false when the kernel refused them.</summary>
    public bool Apply()
    {
        lock (_lock)
        {
            (List<ulong> macs, List<IPAddress> addresses) = _devices.OpenNatTargets();
            string text = string.Join(' ', macs.Order().Select(NftablesMac).Concat(addresses.Select(a => a.ToString()).Order(StringComparer.Ordinal)));
            if (text == _applied)
            {
                return true;
            }

            try
            {
                _kernel.SetOpenNatDevices(macs, addresses);
            }
            catch (FirewallException e)
            {
                Log.OpenNatRefused(_logger, e.Message);
                return false;
            }

            _applied = text;
            Log.OpenNatDevices(_logger, macs.Count + addresses.Count, text.Length == 0 ? "none" : text);
            return true;
        }
    }

    private static string NftablesMac(ulong mac) => KernelBackend.Nftables.NftablesRuleset.MacText(mac);
}
