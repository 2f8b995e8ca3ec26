using System.Xml.Linq;
using PortMapper.Protocols.Upnp;

namespace PortMapper.Protocols.Tests.Upnp;

/// <summary>The written descriptions, read back as XML and checked element by element against the templates.</summary>
public class DescriptionTests
{
    private static readonly XNamespace s_device = "urn:schemas-upnp-org:device-1-0";
    private static readonly XNamespace s_service = "urn:schemas-upnp-org:service-1-0";
    private static readonly DeviceInfo s_info = new("Home Gateway", "PortMapper", "PortMapper", "1.0", "0001", 7);
    private static readonly Guid s_uuid = Guid.Parse("12345678-9abc-def0-1234-56789abcdef0");

    [Fact]
    public void Igd1_Description_HasTheIgd1DeviceTree()
    {
        XElement root = Parse(DescriptionWriter.Device(RootDevice.Create(s_uuid).Igd1, s_info));
        Assert.Equal("1", root.Element(s_device + "specVersion")!.Element(s_device + "major")!.Value);
        Assert.Equal("0", root.Element(s_device + "specVersion")!.Element(s_device + "minor")!.Value);

        XElement igd = root.Element(s_device + "device")!;
        Assert.Equal("urn:schemas-upnp-org:device:InternetGatewayDevice:1", igd.Element(s_device + "deviceType")!.Value);
        Assert.Equal("Home Gateway", igd.Element(s_device + "friendlyName")!.Value);
        Assert.Equal("uuid:12345678-9abc-def0-1234-56789abcde01", igd.Element(s_device + "UDN")!.Value);
        AssertServices(igd, ("urn:schemas-upnp-org:service:Layer3Forwarding:1", "urn:upnp-org:serviceId:L3Forwarding1"));

        XElement wan = Child(igd, "urn:schemas-upnp-org:device:WANDevice:1");
        AssertServices(wan, ("urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1", "urn:upnp-org:serviceId:WANCommonIFC1"));
        XElement connection = Child(wan, "urn:schemas-upnp-org:device:WANConnectionDevice:1");
        AssertServices(connection, ("urn:schemas-upnp-org:service:WANIPConnection:1", "urn:upnp-org:serviceId:WANIPConn1"));
        Assert.Null(connection.Element(s_device + "deviceList"));
    }

    [Fact]
    public void Igd2_Description_HasTheIgd2DeviceTreeWithFirewallControl()
    {
        XElement root = Parse(DescriptionWriter.Device(RootDevice.Create(s_uuid).Igd2, s_info));
        Assert.Equal("7", root.Attribute("configId")!.Value);
        Assert.Equal("1", root.Element(s_device + "specVersion")!.Element(s_device + "minor")!.Value);
        XElement igd = root.Element(s_device + "device")!;
        Assert.Equal("urn:schemas-upnp-org:device:InternetGatewayDevice:2", igd.Element(s_device + "deviceType")!.Value);
        XElement wan = Child(igd, "urn:schemas-upnp-org:device:WANDevice:2");
        AssertServices(wan, ("urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1", "urn:upnp-org:serviceId:WANCommonIFC1"));
        XElement connection = Child(wan, "urn:schemas-upnp-org:device:WANConnectionDevice:2");
        AssertServices(connection,
            ("urn:schemas-upnp-org:service:WANIPConnection:2", "urn:upnp-org:serviceId:WANIPConn1"),
            ("urn:schemas-upnp-org:service:WANIPv6FirewallControl:1", "urn:upnp-org:serviceId:WANIPv6Firewall1"));
    }

    [Fact]
    public void BothRoots_HaveSixDistinctStableUdns()
    {
        var (igd1, igd2) = RootDevice.Create(s_uuid);
        var again = RootDevice.Create(s_uuid);
        string[] udns = [.. igd1.Devices.Concat(igd2.Devices).Select(d => d.Udn)];
        Assert.Equal(6, udns.Distinct().Count());
        Assert.Equal(udns, again.Igd1.Devices.Concat(again.Igd2.Devices).Select(d => d.Udn));
    }

    [Fact]
    public void Descriptions_ControlUrlsOfV1AndV2Differ()
    {
        Assert.NotEqual(ServiceDefinition.WanIPConnection1.ControlPath, ServiceDefinition.WanIPConnection2.ControlPath);
        Assert.Equal(ServiceDefinition.All.Count, ServiceDefinition.All.Select(s => s.ControlPath).Distinct().Count());
    }

    public static TheoryData<string> ServiceTypes => new(ServiceDefinition.All.Select(s => s.ServiceType));

    [Theory]
    [MemberData(nameof(ServiceTypes))]
    public void Scpd_ActionsAndArguments_MatchTheTemplate(string serviceType)
    {
        ServiceDefinition service = ServiceDefinition.All.Single(s => s.ServiceType == serviceType);
        Dictionary<string, string[]> template = service.Kind switch
        {
            UpnpServiceKind.WanIPConnection1 => IgdTemplates.WanIPConnection1,
            UpnpServiceKind.WanIPConnection2 => IgdTemplates.WanIPConnection2,
            UpnpServiceKind.WanCommonInterfaceConfig1 => IgdTemplates.WanCommonInterfaceConfig1,
            UpnpServiceKind.Layer3Forwarding1 => IgdTemplates.Layer3Forwarding1,
            _ => IgdTemplates.WanIPv6FirewallControl1,
        };

        XElement scpd = Parse(DescriptionWriter.Scpd(service, 1));
        var actions = scpd.Element(s_service + "actionList")!.Elements(s_service + "action").ToList();
        Assert.Equal(template.Keys.Order(), actions.Select(a => a.Element(s_service + "name")!.Value).Order());
        var variables = scpd.Element(s_service + "serviceStateTable")!.Elements(s_service + "stateVariable")
            .ToDictionary(v => v.Element(s_service + "name")!.Value);
        foreach (XElement action in actions)
        {
            string name = action.Element(s_service + "name")!.Value;
            string[] arguments = [.. (action.Element(s_service + "argumentList")?.Elements(s_service + "argument") ?? [])
                .Select(a => $"{a.Element(s_service + "direction")!.Value}:{a.Element(s_service + "name")!.Value}:{a.Element(s_service + "relatedStateVariable")!.Value}")];
            Assert.Equal(template[name], arguments);
            foreach (string argument in arguments)
            {
                Assert.True(variables.ContainsKey(argument.Split(':')[2]), $"{name}: {argument} names no state variable");
            }
        }

        string[] evented = [.. variables.Values.Where(v => v.Attribute("sendEvents")!.Value == "yes").Select(v => v.Element(s_service + "name")!.Value)];
        Assert.Equal(IgdTemplates.Evented[serviceType].Order(), evented.Order());
    }

    [Fact]
    public void Scpd_PortMappingProtocol_AllowsTcpAndUdpOnly()
    {
        XElement scpd = Parse(DescriptionWriter.Scpd(ServiceDefinition.WanIPConnection1, 1));
        XElement protocol = scpd.Descendants(s_service + "stateVariable").Single(v => v.Element(s_service + "name")!.Value == "PortMappingProtocol");
        Assert.Equal(["TCP", "UDP"], protocol.Descendants(s_service + "allowedValue").Select(v => v.Value));
        Assert.Equal("string", protocol.Element(s_service + "dataType")!.Value);
    }

    private static XElement Parse(string xml)
    {
        Assert.StartsWith("<?xml version=\"1.0\"", xml, StringComparison.Ordinal);
        return XDocument.Parse(xml).Root!;
    }

    private static XElement Child(XElement device, string type) =>
        device.Element(s_device + "deviceList")!.Elements(s_device + "device").Single(d => d.Element(s_device + "deviceType")!.Value == type);

    private static void AssertServices(XElement device, params (string Type, string Id)[] expected)
    {
        var services = device.Element(s_device + "serviceList")!.Elements(s_device + "service").ToList();
        Assert.Equal(expected.Length, services.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Type, services[i].Element(s_device + "serviceType")!.Value);
            Assert.Equal(expected[i].Id, services[i].Element(s_device + "serviceId")!.Value);
            foreach (string url in new[] { "SCPDURL", "controlURL", "eventSubURL" })
            {
                Assert.StartsWith("/", services[i].Element(s_device + url)!.Value, StringComparison.Ordinal);
            }
        }
    }
}
