namespace PortMapper.Protocols.Upnp;

/// <summary>The services' actions and state variables, as the UPnP Forum's service templates list them.</summary>
public sealed partial record ServiceDefinition
{
    /// <summary>Layer3Forwarding:1 (IGD:1 only): which connection service is the default route.</summary>
    public static ServiceDefinition Layer3Forwarding1 { get; } = new(
        UpnpServiceKind.Layer3Forwarding1,
        UrnPrefix + "Layer3Forwarding:1",
        "urn:upnp-org:serviceId:L3Forwarding1",
        "L3F",
        [
            new("SetDefaultConnectionService", [In("NewDefaultConnectionService", "DefaultConnectionService")]),
            new("GetDefaultConnectionService", [Out("NewDefaultConnectionService", "DefaultConnectionService")]),
        ],
        [Var("DefaultConnectionService", "string", events: true)]);

    /// <summary>WANCommonInterfaceConfig:1: the WAN link's properties and counters.</summary>
    public static ServiceDefinition WanCommonInterfaceConfig1 { get; } = new(
        UpnpServiceKind.WanCommonInterfaceConfig1,
        UrnPrefix + "WANCommonInterfaceConfig:1",
        "urn:upnp-org:serviceId:WANCommonIFC1",
        "WANCommonIFC",
        [
            new("GetCommonLinkProperties",
            [
                Out("NewWANAccessType", "WANAccessType"),
                Out("NewLayer1UpstreamMaxBitRate", "Layer1UpstreamMaxBitRate"),
                Out("NewLayer1DownstreamMaxBitRate", "Layer1DownstreamMaxBitRate"),
                Out("NewPhysicalLinkStatus", "PhysicalLinkStatus"),
            ]),
            new("GetTotalBytesSent", [Out("NewTotalBytesSent", "TotalBytesSent")]),
            new("GetTotalBytesReceived", [Out("NewTotalBytesReceived", "TotalBytesReceived")]),
            new("GetTotalPacketsSent", [Out("NewTotalPacketsSent", "TotalPacketsSent")]),
            new("GetTotalPacketsReceived", [Out("NewTotalPacketsReceived", "TotalPacketsReceived")]),
        ],
        [
            Var("WANAccessType", "string", false, "DSL", "POTS", "Cable", "Ethernet"),
            Var("Layer1UpstreamMaxBitRate", "ui4"),
            Var("Layer1DownstreamMaxBitRate", "ui4"),
            Var("PhysicalLinkStatus", "string", true, "Up", "Down"),
            Var("TotalBytesSent", "ui4"),
            Var("TotalBytesReceived", "ui4"),
            Var("TotalPacketsSent", "ui4"),
            Var("TotalPacketsReceived", "ui4"),
        ]);

    public static ServiceDefinition WanIPConnection1 { get; } = WanIPConnection(1);

    public static ServiceDefinition WanIPConnection2 { get; } = WanIPConnection(2);

    /// <summary>WANIPv6FirewallControl:1 (IGD:2 only): inbound pinholes to IPv6 hosts.</summary>
    public static ServiceDefinition WanIPv6FirewallControl1 { get; } = new(
        UpnpServiceKind.WanIPv6FirewallControl1,
        UrnPrefix + "WANIPv6FirewallControl:1",
        "urn:upnp-org:serviceId:WANIPv6Firewall1",
        "IP6FCtl",
        [
            new("GetFirewallStatus", [Out("FirewallEnabled", "FirewallEnabled"), Out("InboundPinholeAllowed", "InboundPinholeAllowed")]),
            new("GetOutboundPinholeTimeout",
            [
                In("RemoteHost", "A_ARG_TYPE_IPv6Address"),
                In("RemotePort", "A_ARG_TYPE_Port"),
                In("InternalClient", "A_ARG_TYPE_IPv6Address"),
                In("InternalPort", "A_ARG_TYPE_Port"),
                In("Protocol", "A_ARG_TYPE_Protocol"),
                Out("OutboundPinholeTimeout", "A_ARG_TYPE_OutboundPinholeTimeout"),
            ]),
            new("AddPinhole",
            [
                In("RemoteHost", "A_ARG_TYPE_IPv6Address"),
                In("RemotePort", "A_ARG_TYPE_Port"),
                In("InternalClient", "A_ARG_TYPE_IPv6Address"),
                In("InternalPort", "A_ARG_TYPE_Port"),
                In("Protocol", "A_ARG_TYPE_Protocol"),
                In("LeaseTime", "A_ARG_TYPE_LeaseTime"),
                Out("UniqueID", "A_ARG_TYPE_UniqueID"),
            ]),
            new("UpdatePinhole", [In("UniqueID", "A_ARG_TYPE_UniqueID"), In("NewLeaseTime", "A_ARG_TYPE_LeaseTime")]),
            new("DeletePinhole", [In("UniqueID", "A_ARG_TYPE_UniqueID")]),
            new("GetPinholePackets", [In("UniqueID", "A_ARG_TYPE_UniqueID"), Out("PinholePackets", "A_ARG_TYPE_PinholePackets")]),
            new("CheckPinholeWorking", [In("UniqueID", "A_ARG_TYPE_UniqueID"), Out("IsWorking", "A_ARG_TYPE_Boolean")]),
        ],
        [
            Var("FirewallEnabled", "boolean", events: true),
            Var("InboundPinholeAllowed", "boolean", events: true),
            Var("SystemUpdateID", "ui4", events: true),
            Var("A_ARG_TYPE_IPv6Address", "string"),
            Var("A_ARG_TYPE_Port", "ui2"),
            Var("A_ARG_TYPE_Protocol", "ui2"),
            Var("A_ARG_TYPE_LeaseTime", "ui4"),
            Var("A_ARG_TYPE_UniqueID", "ui2"),
            Var("A_ARG_TYPE_OutboundPinholeTimeout", "ui4"),
            Var("A_ARG_TYPE_PinholePackets", "ui4"),
            Var("A_ARG_TYPE_Boolean", "boolean"),
        ]);

    /// <summary>Every service; declared after them, so the static initializers have run (same file, textual order).</summary>
    public static IReadOnlyList<ServiceDefinition> All { get; } =
        [Layer3Forwarding1, WanCommonInterfaceConfig1, WanIPConnection1, WanIPConnection2, WanIPv6FirewallControl1];

    private static ServiceDefinition WanIPConnection(int version)
    {
        ActionArgument[] mappingEntry =
        [
            Out("NewInternalPort", "InternalPort"),
            Out("NewInternalClient", "InternalClient"),
            Out("NewEnabled", "PortMappingEnabled"),
            Out("NewPortMappingDescription", "PortMappingDescription"),
            Out("NewLeaseDuration", "PortMappingLeaseDuration"),
        ];
        ActionArgument[] addArguments =
        [
            In("NewRemoteHost", "RemoteHost"),
            In("NewExternalPort", "ExternalPort"),
            In("NewProtocol", "PortMappingProtocol"),
            In("NewInternalPort", "InternalPort"),
            In("NewInternalClient", "InternalClient"),
            In("NewEnabled", "PortMappingEnabled"),
            In("NewPortMappingDescription", "PortMappingDescription"),
            In("NewLeaseDuration", "PortMappingLeaseDuration"),
        ];
        var actions = new List<ServiceAction>
        {
            new("SetConnectionType", [In("NewConnectionType", "ConnectionType")]),
            new("GetConnectionTypeInfo", [Out("NewConnectionType", "ConnectionType"), Out("NewPossibleConnectionTypes", "PossibleConnectionTypes")]),
            new("RequestConnection", []),
            new("ForceTermination", []),
            new("GetStatusInfo", [Out("NewConnectionStatus", "ConnectionStatus"), Out("NewLastConnectionError", "LastConnectionError"), Out("NewUptime", "Uptime")]),
            new("GetNATRSIPStatus", [Out("NewRSIPAvailable", "RSIPAvailable"), Out("NewNATEnabled", "NATEnabled")]),
            new("GetGenericPortMappingEntry",
            [
                In("NewPortMappingIndex", "PortMappingNumberOfEntries"),
                Out("NewRemoteHost", "RemoteHost"),
                Out("NewExternalPort", "ExternalPort"),
                Out("NewProtocol", "PortMappingProtocol"),
                .. mappingEntry,
            ]),
            new("GetSpecificPortMappingEntry",
            [
                In("NewRemoteHost", "RemoteHost"),
                In("NewExternalPort", "ExternalPort"),
                In("NewProtocol", "PortMappingProtocol"),
                .. mappingEntry,
            ]),
            new("AddPortMapping", addArguments),
            new("DeletePortMapping", [In("NewRemoteHost", "RemoteHost"), In("NewExternalPort", "ExternalPort"), In("NewProtocol", "PortMappingProtocol")]),
            new("GetExternalIPAddress", [Out("NewExternalIPAddress", "ExternalIPAddress")]),
        };
        var variables = new List<StateVariable>
        {
            Var("ConnectionType", "string"),
            Var("PossibleConnectionTypes", "string", true, "Unconfigured", "IP_Routed", "IP_Bridged"),
            Var("ConnectionStatus", "string", true, "Unconfigured", "Connecting", "Connected", "PendingDisconnect", "Disconnecting", "Disconnected"),
            Var("Uptime", "ui4"),
            Var("LastConnectionError", "string", false, "ERROR_NONE", "ERROR_COMMAND_ABORTED", "ERROR_NOT_ENABLED_FOR_INTERNET", "ERROR_USER_DISCONNECT", "ERROR_ISP_DISCONNECT", "ERROR_IDLE_DISCONNECT", "ERROR_FORCED_DISCONNECT", "ERROR_NO_CARRIER", "ERROR_IP_CONFIGURATION", "ERROR_UNKNOWN"),
            Var("RSIPAvailable", "boolean"),
            Var("NATEnabled", "boolean"),
            Var("ExternalIPAddress", "string", events: true),
            Var("PortMappingNumberOfEntries", "ui2", events: true),
            Var("PortMappingEnabled", "boolean"),
            Var("PortMappingLeaseDuration", "ui4"),
            Var("RemoteHost", "string"),
            Var("ExternalPort", "ui2"),
            Var("InternalPort", "ui2"),
            Var("PortMappingProtocol", "string", false, "TCP", "UDP"),
            Var("InternalClient", "string"),
            Var("PortMappingDescription", "string"),
        };
        if (version == 2)
        {
            actions.Add(new("DeletePortMappingRange",
            [
                In("NewStartPort", "ExternalPort"),
                In("NewEndPort", "ExternalPort"),
                In("NewProtocol", "PortMappingProtocol"),
                In("NewManage", "A_ARG_TYPE_Manage"),
            ]));
            actions.Add(new("GetListOfPortMappings",
            [
                In("NewStartPort", "ExternalPort"),
                In("NewEndPort", "ExternalPort"),
                In("NewProtocol", "PortMappingProtocol"),
                In("NewManage", "A_ARG_TYPE_Manage"),
                In("NewNumberOfPorts", "PortMappingNumberOfEntries"),
                Out("NewPortListing", "A_ARG_TYPE_PortListing"),
            ]));
            actions.Add(new("AddAnyPortMapping", [.. addArguments, Out("NewReservedPort", "ExternalPort")]));
            variables.Add(Var("SystemUpdateID", "ui4", events: true));
            variables.Add(Var("A_ARG_TYPE_Manage", "boolean"));
            variables.Add(Var("A_ARG_TYPE_PortListing", "string"));
        }

        return new(
            version == 1 ? UpnpServiceKind.WanIPConnection1 : UpnpServiceKind.WanIPConnection2,
            $"{UrnPrefix}WANIPConnection:{version}",
            "urn:upnp-org:serviceId:WANIPConn1",
            $"IPConn{version}",
            actions,
            variables);
    }
}
