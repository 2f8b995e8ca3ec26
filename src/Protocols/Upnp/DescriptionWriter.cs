using System.Globalization;
using System.Text;
using System.Xml;

namespace PortMapper.Protocols.Upnp;

/// <summary>
/// Writes device descriptions (UDA 1.1 §2.3) and service descriptions (SCPD, §2.5). URLs are relative to the
/// description's own URL, so one document serves every LAN address the gateway has.
/// </summary>
public static class DescriptionWriter
{
    public const string DeviceNamespace = "urn:schemas-upnp-org:device-1-0";
    public const string ServiceNamespace = "urn:schemas-upnp-org:service-1-0";

    public static string Device(RootDevice root, DeviceInfo info) => Write(w =>
    {
        w.WriteStartElement("root", DeviceNamespace);
        if (root.IgdVersion == 2)
        {
            w.WriteAttributeString("configId", info.ConfigId.ToString(CultureInfo.InvariantCulture));
        }

        WriteSpecVersion(w, root.IgdVersion == 2 ? 1 : 0);
        WriteDevice(w, root.Device, info, isRoot: true);
        w.WriteEndElement();
    });

    public static string Scpd(ServiceDefinition service, int configId) => Write(w =>
    {
        w.WriteStartElement("scpd", ServiceNamespace);
        if (service.Version == 2 || service.Kind == UpnpServiceKind.WanIPv6FirewallControl1)
        {
            w.WriteAttributeString("configId", configId.ToString(CultureInfo.InvariantCulture));
        }

        WriteSpecVersion(w, service.Version == 2 || service.Kind == UpnpServiceKind.WanIPv6FirewallControl1 ? 1 : 0);
        w.WriteStartElement("actionList");
        foreach (ServiceAction action in service.Actions)
        {
            w.WriteStartElement("action");
            w.WriteElementString("name", action.Name);
            if (action.Arguments.Count > 0)
            {
                w.WriteStartElement("argumentList");
                foreach (ActionArgument argument in action.Arguments)
                {
                    w.WriteStartElement("argument");
                    w.WriteElementString("name", argument.Name);
                    w.WriteElementString("direction", argument.In ? "in" : "out");
                    w.WriteElementString("relatedStateVariable", argument.RelatedStateVariable);
                    w.WriteEndElement();
                }

                w.WriteEndElement();
            }

            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteStartElement("serviceStateTable");
        foreach (StateVariable variable in service.Variables)
        {
            w.WriteStartElement("stateVariable");
            w.WriteAttributeString("sendEvents", variable.SendEvents ? "yes" : "no");
            w.WriteElementString("name", variable.Name);
            w.WriteElementString("dataType", variable.DataType);
            if (variable.AllowedValues is { } allowed)
            {
                w.WriteStartElement("allowedValueList");
                foreach (string value in allowed)
                {
                    w.WriteElementString("allowedValue", value);
                }

                w.WriteEndElement();
            }

            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteEndElement();
    });

    private static void WriteSpecVersion(XmlWriter w, int minor)
    {
        w.WriteStartElement("specVersion");
        w.WriteElementString("major", "1");
        w.WriteElementString("minor", minor.ToString(CultureInfo.InvariantCulture));
        w.WriteEndElement();
    }

    private static void WriteDevice(XmlWriter w, DeviceNode device, DeviceInfo info, bool isRoot)
    {
        w.WriteStartElement("device");
        w.WriteElementString("deviceType", device.DeviceType);
        string kind = device.DeviceType[DeviceNode.UrnPrefix.Length..device.DeviceType.LastIndexOf(':')];
        w.WriteElementString("friendlyName", isRoot ? info.FriendlyName : $"{info.FriendlyName} {kind}");
        w.WriteElementString("manufacturer", info.Manufacturer);
        w.WriteElementString("modelDescription", $"{info.ModelName} {kind}");
        w.WriteElementString("modelName", info.ModelName);
        w.WriteElementString("modelNumber", info.ModelNumber);
        w.WriteElementString("serialNumber", info.SerialNumber);
        w.WriteElementString("UDN", device.Udn);
        if (device.Services.Count > 0)
        {
            w.WriteStartElement("serviceList");
            foreach (ServiceDefinition service in device.Services)
            {
                w.WriteStartElement("service");
                w.WriteElementString("serviceType", service.ServiceType);
                w.WriteElementString("serviceId", service.ServiceId);
                w.WriteElementString("SCPDURL", service.ScpdPath);
                w.WriteElementString("controlURL", service.ControlPath);
                w.WriteElementString("eventSubURL", service.EventPath);
                w.WriteEndElement();
            }

            w.WriteEndElement();
        }

        if (device.Children.Count > 0)
        {
            w.WriteStartElement("deviceList");
            foreach (DeviceNode child in device.Children)
            {
                WriteDevice(w, child, info, isRoot: false);
            }

            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static string Write(Action<XmlWriter> body)
    {
        var text = new StringBuilder(4096);
        var settings = new XmlWriterSettings { Indent = true, IndentChars = " ", Encoding = new UTF8Encoding(false), OmitXmlDeclaration = true };
        using (var w = XmlWriter.Create(text, settings))
        {
            body(w);
        }

        return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + text + "\n";
    }
}
