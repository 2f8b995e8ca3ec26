using System.Globalization;
using System.Text;
using PortMapper.Gateway.Configuration;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Gateway.Upnp;

/// <summary>
/// The gateway's UPnP identity: the two root devices with UDNs from a UUID kept in the state directory (so
/// control points see the same device after a restart), the documents they are described by, and the SSDP
/// fields (BOOTID goes up with every start).
/// </summary>
public sealed class UpnpDevices
{
    public const string ServerString = "Linux UPnP/1.1 PortMapper/1.0";
    private const string UuidFile = "upnp.uuid";
    private const string BootIdFile = "upnp.bootid";
    private const int ConfigId = 1;

    private readonly Dictionary<string, byte[]> _documents = new(StringComparer.Ordinal);

    public UpnpDevices(GatewayOptions options, TimeProvider time)
    {
        Guid uuid = LoadOrCreateUuid(options.Settings.StateDirectory);
        (Igd1, Igd2) = RootDevice.Create(uuid);
        var info = new DeviceInfo(options.Settings.UpnpFriendlyName, "PortMapper", "PortMapper", "1.0", uuid.ToString("N")[..12], ConfigId);
        Identity = new SsdpIdentity(ServerString, options.Settings.UpnpNotifyIntervalSeconds * 3, NextBootId(options.Settings.StateDirectory, time), ConfigId);
        foreach (RootDevice root in new[] { Igd1, Igd2 })
        {
            _documents[root.DescriptionPath] = Encoding.UTF8.GetBytes(DescriptionWriter.Device(root, info));
        }

        foreach (ServiceDefinition service in ServiceDefinition.All)
        {
            _documents[service.ScpdPath] = Encoding.UTF8.GetBytes(DescriptionWriter.Scpd(service, ConfigId));
        }

        WanConnectionUdn = Igd1.Devices.First(d => d.Services.Contains(ServiceDefinition.WanIPConnection1)).Udn;
    }

    public RootDevice Igd1 { get; }

    public RootDevice Igd2 { get; }

    public SsdpIdentity Identity { get; }

    /// <summary>Layer3Forwarding's DefaultConnectionService: "UDN:WANConnectionDevice:1,serviceId".</summary>
    public string DefaultConnectionService => $"{WanConnectionUdn}:WANConnectionDevice:1,{ServiceDefinition.WanIPConnection1.ServiceId}";

    private string WanConnectionUdn { get; }

    public byte[]? Document(string path) => _documents.GetValueOrDefault(path);

    public static ServiceDefinition? ServiceAt(string path, string prefix) =>
        ServiceDefinition.All.FirstOrDefault(s => (prefix == "/ctl/" ? s.ControlPath : s.EventPath) == path);

    /// <summary>
    /// BOOTID.UPNP.ORG must go up with every start (UDA 1.1 §1.2.2): the clock's seconds, or one more than the
    /// last start's when the clock is behind it (or the restart came within the same second).
    /// </summary>
    private static uint NextBootId(string stateDirectory, TimeProvider time)
    {
        string path = Path.Combine(stateDirectory, BootIdFile);
        uint now = (uint)Math.Clamp(time.GetUtcNow().ToUnixTimeSeconds(), 1, int.MaxValue);
        try
        {
            uint last = File.Exists(path) && uint.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out uint kept) ? kept : 0;
            uint next = Math.Max(now, last + 1);
            Directory.CreateDirectory(stateDirectory);
            File.WriteAllText(path, next.ToString(CultureInfo.InvariantCulture) + "\n");
            return next;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return now;
        }
    }

    private static Guid LoadOrCreateUuid(string stateDirectory)
    {
        string path = Path.Combine(stateDirectory, UuidFile);
        try
        {
            if (File.Exists(path) && Guid.TryParse(File.ReadAllText(path).Trim(), out Guid kept))
            {
                return kept;
            }

            Directory.CreateDirectory(stateDirectory);
            Guid fresh = Guid.NewGuid();
            File.WriteAllText(path, fresh.ToString("D", CultureInfo.InvariantCulture) + "\n");
            return fresh;
        }
        catch (IOException)
        {
            return Guid.NewGuid();
        }
        catch (UnauthorizedAccessException)
        {
            return Guid.NewGuid();
        }
    }
}
