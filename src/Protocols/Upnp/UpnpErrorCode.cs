namespace PortMapper.Protocols.Upnp;

/// <summary>
/// UPnP error codes carried in a SOAP fault's <c>UPnPError</c>: UPnP Device Architecture 1.1 §3.2.2 (401-606),
/// WANIPConnection:1 §2.4 and WANIPConnection:2 §2.5 (7xx), WANIPv6FirewallControl:1 §2.5 (70x; the numbers
/// overlap with WANIPConnection's, the service the action belongs to says which is meant).
/// </summary>
public enum UpnpErrorCode
{
    /// <summary>No action by that name at this service.</summary>
    InvalidAction = 401,

    /// <summary>Missing, empty, non-numeric or out-of-range argument, or an unknown protocol.</summary>
    InvalidArgs = 402,

    ActionFailed = 501,

    /// <summary>Secure mode: the entry or the internal client belongs to another host.</summary>
    ActionNotAuthorized = 606,

    // WANIPv6FirewallControl:1
    PinholeSpaceExhausted = 701,
    FirewallDisabled = 702,
    InboundPinholeNotAllowed = 703,
    NoSuchEntry = 704,
    ProtocolNotSupported = 705,
    InternalPortWildcardingNotAllowed = 706,
    ProtocolWildcardingNotAllowed = 707,
    PinholeWildCardNotPermittedInSrcIP = 708,
    NoPacketSent = 709,

    // WANIPConnection:1 and :2
    InactiveConnectionStateRequired = 703,
    ConnectionSetupFailed = 704,
    ConnectionAlreadyTerminated = 711,
    SpecifiedArrayIndexInvalid = 713,
    NoSuchEntryInArray = 714,
    WildCardNotPermittedInSrcIP = 715,
    WildCardNotPermittedInExtPort = 716,
    ConflictInMappingEntry = 718,

    // Layer3Forwarding:1
    InvalidConnServiceSelection = 723,

    SamePortValuesRequired = 724,

    /// <summary>Never sent: clients give up on it, and this gateway grants leases of any length.</summary>
    OnlyPermanentLeasesSupported = 725,
    RemoteHostOnlySupportsWildcard = 726,
    ExternalPortOnlySupportsWildcard = 727,
    NoPortMapsAvailable = 728,
    ConflictWithOtherMechanisms = 729,
    PortMappingNotFound = 730,
    ReadOnly = 731,
    WildCardNotPermittedInIntPort = 732,
    InconsistentParameters = 733,
}
