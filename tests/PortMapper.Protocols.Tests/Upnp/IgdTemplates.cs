namespace PortMapper.Protocols.Tests.Upnp;

/// <summary>
/// The UPnP Forum's service templates, typed in from the specifications (WANIPConnection:1 and :2,
/// WANCommonInterfaceConfig:1, Layer3Forwarding:1, WANIPv6FirewallControl:1): action name, then its
/// arguments as "in:Name:RelatedStateVariable" / "out:...". Independent of the daemon's own tables, so a
/// slip in either shows.
/// </summary>
internal static class IgdTemplates
{
    private static readonly string[] s_entryOut =
    [
        "out:NewInternalPort:InternalPort", "out:NewInternalClient:InternalClient", "out:NewEnabled:PortMappingEnabled",
        "out:NewPortMappingDescription:PortMappingDescription", "out:NewLeaseDuration:PortMappingLeaseDuration",
    ];

    private static readonly string[] s_addIn =
    [
        "in:NewRemoteHost:RemoteHost", "in:NewExternalPort:ExternalPort", "in:NewProtocol:PortMappingProtocol",
        "in:NewInternalPort:InternalPort", "in:NewInternalClient:InternalClient", "in:NewEnabled:PortMappingEnabled",
        "in:NewPortMappingDescription:PortMappingDescription", "in:NewLeaseDuration:PortMappingLeaseDuration",
    ];

    public static Dictionary<string, string[]> WanIPConnection1 { get; } = new()
    {
        ["SetConnectionType"] = ["in:NewConnectionType:ConnectionType"],
        ["GetConnectionTypeInfo"] = ["out:NewConnectionType:ConnectionType", "out:NewPossibleConnectionTypes:PossibleConnectionTypes"],
        ["RequestConnection"] = [],
        ["ForceTermination"] = [],
        ["GetStatusInfo"] = ["out:NewConnectionStatus:ConnectionStatus", "out:NewLastConnectionError:LastConnectionError", "out:NewUptime:Uptime"],
        ["GetNATRSIPStatus"] = ["out:NewRSIPAvailable:RSIPAvailable", "out:NewNATEnabled:NATEnabled"],
        ["GetGenericPortMappingEntry"] =
        [
            "in:NewPortMappingIndex:PortMappingNumberOfEntries", "out:NewRemoteHost:RemoteHost", "out:NewExternalPort:ExternalPort",
            "out:NewProtocol:PortMappingProtocol", .. s_entryOut,
        ],
        ["GetSpecificPortMappingEntry"] = ["in:NewRemoteHost:RemoteHost", "in:NewExternalPort:ExternalPort", "in:NewProtocol:PortMappingProtocol", .. s_entryOut],
        ["AddPortMapping"] = s_addIn,
        ["DeletePortMapping"] = ["in:NewRemoteHost:RemoteHost", "in:NewExternalPort:ExternalPort", "in:NewProtocol:PortMappingProtocol"],
        ["GetExternalIPAddress"] = ["out:NewExternalIPAddress:ExternalIPAddress"],
    };

    public static Dictionary<string, string[]> WanIPConnection2 { get; } = new(WanIPConnection1)
    {
        ["DeletePortMappingRange"] = ["in:NewStartPort:ExternalPort", "in:NewEndPort:ExternalPort", "in:NewProtocol:PortMappingProtocol", "in:NewManage:A_ARG_TYPE_Manage"],
        ["GetListOfPortMappings"] =
        [
            "in:NewStartPort:ExternalPort", "in:NewEndPort:ExternalPort", "in:NewProtocol:PortMappingProtocol", "in:NewManage:A_ARG_TYPE_Manage",
            "in:NewNumberOfPorts:PortMappingNumberOfEntries", "out:NewPortListing:A_ARG_TYPE_PortListing",
        ],
        ["AddAnyPortMapping"] = [.. s_addIn, "out:NewReservedPort:ExternalPort"],
    };

    public static Dictionary<string, string[]> WanCommonInterfaceConfig1 { get; } = new()
    {
        ["GetCommonLinkProperties"] =
        [
            "out:NewWANAccessType:WANAccessType", "out:NewLayer1UpstreamMaxBitRate:Layer1UpstreamMaxBitRate",
            "out:NewLayer1DownstreamMaxBitRate:Layer1DownstreamMaxBitRate", "out:NewPhysicalLinkStatus:PhysicalLinkStatus",
        ],
        ["GetTotalBytesSent"] = ["out:NewTotalBytesSent:TotalBytesSent"],
        ["GetTotalBytesReceived"] = ["out:NewTotalBytesReceived:TotalBytesReceived"],
        ["GetTotalPacketsSent"] = ["out:NewTotalPacketsSent:TotalPacketsSent"],
        ["GetTotalPacketsReceived"] = ["out:NewTotalPacketsReceived:TotalPacketsReceived"],
    };

    public static Dictionary<string, string[]> Layer3Forwarding1 { get; } = new()
    {
        ["SetDefaultConnectionService"] = ["in:NewDefaultConnectionService:DefaultConnectionService"],
        ["GetDefaultConnectionService"] = ["out:NewDefaultConnectionService:DefaultConnectionService"],
    };

    public static Dictionary<string, string[]> WanIPv6FirewallControl1 { get; } = new()
    {
        ["GetFirewallStatus"] = ["out:FirewallEnabled:FirewallEnabled", "out:InboundPinholeAllowed:InboundPinholeAllowed"],
        ["GetOutboundPinholeTimeout"] =
        [
            "in:RemoteHost:A_ARG_TYPE_IPv6Address", "in:RemotePort:A_ARG_TYPE_Port", "in:InternalClient:A_ARG_TYPE_IPv6Address",
            "in:InternalPort:A_ARG_TYPE_Port", "in:Protocol:A_ARG_TYPE_Protocol", "out:OutboundPinholeTimeout:A_ARG_TYPE_OutboundPinholeTimeout",
        ],
        ["AddPinhole"] =
        [
            "in:RemoteHost:A_ARG_TYPE_IPv6Address", "in:RemotePort:A_ARG_TYPE_Port", "in:InternalClient:A_ARG_TYPE_IPv6Address",
            "in:InternalPort:A_ARG_TYPE_Port", "in:Protocol:A_ARG_TYPE_Protocol", "in:LeaseTime:A_ARG_TYPE_LeaseTime", "out:UniqueID:A_ARG_TYPE_UniqueID",
        ],
        ["UpdatePinhole"] = ["in:UniqueID:A_ARG_TYPE_UniqueID", "in:NewLeaseTime:A_ARG_TYPE_LeaseTime"],
        ["DeletePinhole"] = ["in:UniqueID:A_ARG_TYPE_UniqueID"],
        ["GetPinholePackets"] = ["in:UniqueID:A_ARG_TYPE_UniqueID", "out:PinholePackets:A_ARG_TYPE_PinholePackets"],
        ["CheckPinholeWorking"] = ["in:UniqueID:A_ARG_TYPE_UniqueID", "out:IsWorking:A_ARG_TYPE_Boolean"],
    };

    /// <summary>State variables the templates require to be evented.</summary>
    public static Dictionary<string, string[]> Evented { get; } = new()
    {
        ["urn:schemas-upnp-org:service:WANIPConnection:1"] = ["PossibleConnectionTypes", "ConnectionStatus", "ExternalIPAddress", "PortMappingNumberOfEntries"],
        ["urn:schemas-upnp-org:service:WANIPConnection:2"] = ["PossibleConnectionTypes", "ConnectionStatus", "ExternalIPAddress", "PortMappingNumberOfEntries", "SystemUpdateID"],
        ["urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1"] = ["PhysicalLinkStatus"],
        ["urn:schemas-upnp-org:service:Layer3Forwarding:1"] = ["DefaultConnectionService"],
        ["urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"] = ["FirewallEnabled", "InboundPinholeAllowed", "SystemUpdateID"],
    };
}
