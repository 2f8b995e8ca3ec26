using System.Net;
using Microsoft.Extensions.Logging;
using PortMapper.Protocols.Mapping;
using PortMapper.Protocols.NatPmp;
using PortMapper.Protocols.Pcp;

namespace PortMapper.Gateway.Logging;

/// <summary>
/// Every message the daemon logs, with stable event ids: 1xxx lease table, store and kernel; 2xxx NAT-PMP;
/// 3xxx network; 4xxx UPnP (SSDP, control, eventing); 5xxx admin endpoint; 6xxx protocol helpers; 7xxx the upstream gateway (double NAT). Anything a remote host can trigger at will is Debug, so it cannot flood the log.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information, "Restored {Restored} leases from {StateDirectory} ({Expired} had expired while stopped, {Dropped} dropped); kernel rebuilt in {Milliseconds} ms")]
    public static partial void Restored(ILogger logger, int restored, int expired, int dropped, string stateDirectory, long milliseconds);

    [LoggerMessage(1055, LogLevel.Debug, "Start: journal read in {Journal:F1} ms, table restored in {Table:F1} ms, kernel table {Kernel} in {KernelMs:F1} ms, journal compacted in {Compaction:F1} ms")]
    public static partial void StartPhases(ILogger logger, double journal, double table, string kernel, double kernelMs, double compaction);

    [LoggerMessage(1056, LogLevel.Debug, "Start: the kernel's table is rebuilt, not taken over as the last stop left it: {Reason}")]
    public static partial void KernelNotAdopted(ILogger logger, string reason);

    [LoggerMessage(1057, LogLevel.Debug, "Stop: the kernel's stamp for the next start was not written ({Error}); that start rebuilds the table")]
    public static partial void KernelStampUnwritten(ILogger logger, string error);

    [LoggerMessage(1001, LogLevel.Warning, "The lease journal ended in {Bytes} bytes of an interrupted write; they were discarded")]
    public static partial void TornJournal(ILogger logger, long bytes);

    [LoggerMessage(1002, LogLevel.Warning, "The kernel refused an update ({Reason}); rebuilding the table from the lease table")]
    public static partial void ApplyFailed(ILogger logger, string reason);

    [LoggerMessage(1003, LogLevel.Error, "Could not program the kernel: {Reason}")]
    public static partial void RebuildFailed(ILogger logger, string reason);

    [LoggerMessage(1004, LogLevel.Warning, "The nftables table '{Table}' was flushed or deleted; reinstalling {Count} mappings")]
    public static partial void TableLost(ILogger logger, string table, int count);

    [LoggerMessage(1044, LogLevel.Warning, "nftables change notifications are unavailable ({Reason}): the table is checked every {Seconds} s instead")]
    public static partial void ChangeNotificationsUnavailable(ILogger logger, string reason, int seconds);

    [LoggerMessage(1005, LogLevel.Information, "{Origin} {Protocol} {ExternalPort} -> {InternalAddress}:{InternalPort} for {Seconds} s (lease {Id})")]
    public static partial void LeaseAdded(ILogger logger, MappingOrigin origin, MappingProtocol protocol, ushort externalPort, IPAddress internalAddress, ushort internalPort, uint seconds, long id);

    [LoggerMessage(1006, LogLevel.Information, "Lease {Id} {Protocol} {ExternalPort} -> {InternalAddress}:{InternalPort} {Change}")]
    public static partial void LeaseEnded(ILogger logger, long id, MappingProtocol protocol, ushort externalPort, IPAddress internalAddress, ushort internalPort, string change);

    [LoggerMessage(1007, LogLevel.Debug, "{Client} asked for {Protocol} port {InternalPort}: {Status}")]
    public static partial void MappingRefused(ILogger logger, IPAddress client, MappingProtocol protocol, ushort internalPort, MappingStatus status);

    [LoggerMessage(1045, LogLevel.Error, "Cannot write the lease journal in {Directory} ({Reason}): new mappings and renewals are refused (out of resources) until it can; existing leases keep working")]
    public static partial void JournalFailing(ILogger logger, string directory, string reason);

    [LoggerMessage(1046, LogLevel.Warning, "The lease journal in {Directory} is writable again: new mappings are granted")]
    public static partial void JournalResumed(ILogger logger, string directory);

    [LoggerMessage(1008, LogLevel.Information, "Compacted the lease journal to {Count} leases")]
    public static partial void Compacted(ILogger logger, int count);

    [LoggerMessage(1009, LogLevel.Warning, "Request queue full: dropped a request from {Client}")]
    public static partial void QueueFull(ILogger logger, IPAddress client);

    [LoggerMessage(1010, LogLevel.Debug, "Slow batch: {Count} requests took {TotalMs:F1} ms (table and journal {JournalMs:F1} ms, kernel {KernelMs:F1} ms) with {Leases} leases")]
    public static partial void SlowBatch(ILogger logger, int count, double totalMs, double journalMs, double kernelMs, int leases);

    [LoggerMessage(1011, LogLevel.Debug, "Memory: GC committed {BeforeMb:F1} MB -> {AfterMb:F1} MB (heap {HeapMb:F1} MB); RSS {RssMb:F1} MB; {Leases} leases")]
    public static partial void MemoryTrimmed(ILogger logger, double beforeMb, double afterMb, double heapMb, double rssMb, int leases);

    [LoggerMessage(1047, LogLevel.Debug, "Memory: generation 2 had grown to {Before:F1} MB under load; {After:F1} MB after a full collection ({FragmentedMb:F1} MB of it free between {Pinned} pinned objects); {Leases} leases")]
    public static partial void MemoryCollected(ILogger logger, double before, double after, double fragmentedMb, long pinned, int leases);

    [LoggerMessage(2000, LogLevel.Information, "Port control ({Protocols}) listening on {Lan} {Address}:{Port}")]
    public static partial void PortControlListening(ILogger logger, string lan, IPAddress address, int port, string protocols);

    [LoggerMessage(2001, LogLevel.Debug, "NAT-PMP: dropped a datagram from {Source}: {Reason}")]
    public static partial void NatPmpDropped(ILogger logger, IPEndPoint source, NatPmpDecodeError reason);

    [LoggerMessage(2002, LogLevel.Debug, "Port control: ignored {Source} on {Interface}: not a host on that LAN")]
    public static partial void PortControlOffLink(ILogger logger, IPEndPoint source, string @interface);

    [LoggerMessage(2003, LogLevel.Debug, "Port control: {Source} is over its request rate; dropped")]
    public static partial void PortControlRateLimited(ILogger logger, IPEndPoint source);

    [LoggerMessage(2004, LogLevel.Debug, "Announced {Address} (round {Round} of 10)")]
    public static partial void Announced(ILogger logger, IPAddress address, int round);

    [LoggerMessage(2005, LogLevel.Warning, "Port control: socket error on {Interface}")]
    public static partial void PortControlSocketError(ILogger logger, Exception exception, string @interface);

    [LoggerMessage(2006, LogLevel.Debug, "PCP: dropped a datagram from {Source} (a response, or under 2 octets)")]
    public static partial void PcpDropped(ILogger logger, IPEndPoint source);

    [LoggerMessage(2007, LogLevel.Debug, "PCP: answered {Source} with {Result}")]
    public static partial void PcpRefused(ILogger logger, IPEndPoint source, PcpResultCode result);

    [LoggerMessage(3000, LogLevel.Information, "External address is {Address} on {Interface}")]
    public static partial void ExternalAddress(ILogger logger, IPAddress? address, string @interface);

    [LoggerMessage(3001, LogLevel.Warning, "External address {Address} is {Kind}: inbound mappings work only as far as the upstream network forwards to it (double NAT). Serving anyway")]
    public static partial void ExternalAddressReserved(ILogger logger, IPAddress address, string kind);

    [LoggerMessage(3002, LogLevel.Warning, "External address changed from {Old} to {New}: epoch reset, mappings follow the new address")]
    public static partial void ExternalAddressChanged(ILogger logger, IPAddress? old, IPAddress? @new);

    [LoggerMessage(3003, LogLevel.Information, "WAN {Wan}; LAN {Lan}; firewall mode {Mode}; table inet {Table}")]
    public static partial void Interfaces(ILogger logger, string wan, string lan, string mode, string table);
    [LoggerMessage(4000, LogLevel.Information, "UPnP IGD on {Lan}: http://{Endpoint}/rootDesc.xml (IGD:1), /rootDesc2.xml (IGD:2)")]
    public static partial void UpnpListening(ILogger logger, string lan, string endpoint);

    [LoggerMessage(4010, LogLevel.Warning, "UPnP: {Address} on {Lan} cannot be bound yet (tentative?); not serving on it")]
    public static partial void UpnpAddressSkipped(ILogger logger, IPAddress address, string lan);

    [LoggerMessage(4001, LogLevel.Debug, "UPnP {Action} from {Client}: error {Code} {Description}")]
    public static partial void UpnpActionRefused(ILogger logger, IPAddress client, string action, int code, string description);

    [LoggerMessage(4002, LogLevel.Debug, "UPnP HTTP {Method} {Path} from {Client} refused with {Status}: {Reason}")]
    public static partial void UpnpHttpRefused(ILogger logger, string method, string path, IPAddress? client, int status, string reason);

    [LoggerMessage(4003, LogLevel.Debug, "UPnP connection from {Client} to {Local} closed: {Reason}")]
    public static partial void UpnpConnectionRefused(ILogger logger, string? client, string? local, string reason);

    [LoggerMessage(4004, LogLevel.Debug, "SSDP datagram from {Source} on {Lan} ignored: {Reason}")]
    public static partial void SsdpIgnored(ILogger logger, IPEndPoint source, string lan, string reason);

    [LoggerMessage(4005, LogLevel.Information, "SSDP on {Lan} ({Address}), announcing every {Seconds} s")]
    public static partial void SsdpListening(ILogger logger, string lan, IPAddress address, int seconds);

    [LoggerMessage(4006, LogLevel.Warning, "SSDP socket error on {Lan}")]
    public static partial void SsdpSocketError(ILogger logger, Exception exception, string lan);

    [LoggerMessage(4007, LogLevel.Debug, "GENA {Method} from {Client} refused with {Status}: {Reason}")]
    public static partial void GenaRefused(ILogger logger, string method, IPAddress? client, int status, string reason);

    [LoggerMessage(4008, LogLevel.Debug, "GENA NOTIFY to {Callback} failed: {Reason}")]
    public static partial void GenaNotifyFailed(ILogger logger, Uri callback, string reason);

    [LoggerMessage(4009, LogLevel.Debug, "GENA {Sid} for {Client} on {Service}, {Seconds} s")]
    public static partial void GenaSubscribed(ILogger logger, string sid, IPAddress client, string service, int seconds);

    [LoggerMessage(5000, LogLevel.Information, "Admin endpoint on http://{Endpoint}/ (bearer token in {TokenFile})")]
    public static partial void AdminListening(ILogger logger, string endpoint, string tokenFile);

    [LoggerMessage(5001, LogLevel.Debug, "Admin {Method} {Path} from {Client} refused: {Reason}")]
    public static partial void AdminRefused(ILogger logger, string method, string path, IPAddress? client, string reason);

    [LoggerMessage(5002, LogLevel.Information, "Admin revoked lease {Id}")]
    public static partial void AdminRevoked(ILogger logger, long id);

    [LoggerMessage(1020, LogLevel.Information, "Reloaded the configuration; {Leases} leases kept")]
    public static partial void Reloaded(ILogger logger, int leases);

    [LoggerMessage(1021, LogLevel.Error, "Reload: {Error}")]
    public static partial void ReloadError(ILogger logger, string error);

    [LoggerMessage(1022, LogLevel.Error, "Reload refused: the configuration has {Count} error(s); the running one stays")]
    public static partial void ReloadRefused(ILogger logger, int count);

    [LoggerMessage(1023, LogLevel.Warning, "Reload: these changes take effect at the next restart: {Settings}")]
    public static partial void ReloadNeedsRestart(ILogger logger, string settings);

    [LoggerMessage(5010, LogLevel.Information, "mDNS: advertising {Instance} on {Lan} ({Endpoint})")]
    public static partial void MdnsAdvertising(ILogger logger, string instance, string lan, string endpoint);

    [LoggerMessage(5011, LogLevel.Debug, "mDNS: ignored a datagram from {Source}: {Reason}")]
    public static partial void MdnsIgnored(ILogger logger, IPEndPoint source, string reason);

    [LoggerMessage(5012, LogLevel.Warning, "mDNS: socket error ({Where})")]
    public static partial void MdnsSocketError(ILogger logger, Exception exception, string where);

    [LoggerMessage(1030, LogLevel.Debug, "Ended {Flows} conntrack flows of {Endpoints} ended mappings")]
    public static partial void FlowsEnded(ILogger logger, int flows, int endpoints);

    [LoggerMessage(1031, LogLevel.Warning, "Could not end the conntrack flows of {Endpoints} ended mappings: {Reason}")]
    public static partial void FlowsNotEnded(ILogger logger, string reason, int endpoints);

    [LoggerMessage(6000, LogLevel.Information, "RTSP helper: {Mode} on control ports {Ports}")]
    public static partial void RtspHelper(ILogger logger, string mode, string ports);

    [LoggerMessage(6001, LogLevel.Error, "RTSP helper off: {Reason}")]
    public static partial void RtspUnavailable(ILogger logger, string reason);

    [LoggerMessage(6002, LogLevel.Information, "RTSP: {Client} receives UDP {Low}-{High} from {Server} (session {Session}, {Seconds} s unless renewed)")]
    public static partial void RtspOpened(ILogger logger, IPAddress client, IPAddress server, int low, int high, string session, int seconds);

    [LoggerMessage(6003, LogLevel.Debug, "RTSP: nothing opened for {Client} from {Server}: {Reason}")]
    public static partial void RtspRefused(ILogger logger, IPAddress client, IPAddress server, string reason);

    [LoggerMessage(6004, LogLevel.Debug, "RTSP: stopped reading {Client} to {Server}: malformed message from the {Side} ({Error})")]
    public static partial void RtspMalformed(ILogger logger, IPAddress client, IPAddress server, string side, Protocols.Rtsp.RtspParseError error);

    [LoggerMessage(6005, LogLevel.Debug, "RTSP: not following {Client} to {Server}: {Reason}")]
    public static partial void RtspNotFollowed(ILogger logger, IPAddress client, IPAddress server, string reason);

    [LoggerMessage(6006, LogLevel.Debug, "RTSP: {Client} to {Server} timed out with {Ports} media ports")]
    public static partial void RtspTimedOut(ILogger logger, IPAddress client, IPAddress server, int ports);

    [LoggerMessage(6007, LogLevel.Information, "RTSP: closed {Ports} media ports")]
    public static partial void RtspClosed(ILogger logger, int ports);

    [LoggerMessage(6008, LogLevel.Warning, "RTSP: the kernel refused media ports ({Reason})")]
    public static partial void RtspKernelRefused(ILogger logger, string reason);

    [LoggerMessage(6009, LogLevel.Debug, "RTSP: log copies were lost ({Reason}); connections with gaps are no longer read")]
    public static partial void RtspCopiesLost(ILogger logger, string reason);

    [LoggerMessage(6010, LogLevel.Debug, "RTSP: ignored a logged packet: {Error}")]
    public static partial void RtspPacketIgnored(ILogger logger, Protocols.Ip.IpPacketError error);

    [LoggerMessage(1040, LogLevel.Warning, "Lease {Id} ({Protocol} {ExternalPort} -> {InternalAddress}:{InternalPort}) was not restored: {Reason}")]
    public static partial void RestoreDropped(ILogger logger, long id, MappingProtocol protocol, ushort externalPort, IPAddress internalAddress, ushort internalPort, string reason);

    [LoggerMessage(1041, LogLevel.Warning, "Skipped {Count} journal records that could not be read (first: {Reason})")]
    public static partial void JournalRecordsSkipped(ILogger logger, int count, string reason);

    [LoggerMessage(1048, LogLevel.Information, "Lease {Id} ({Protocol} {ExternalPort}) of device {Device} revoked: the device may not map ports")]
    public static partial void DeviceLeaseRevoked(ILogger logger, long id, string device, MappingProtocol protocol, ushort externalPort);

    [LoggerMessage(1049, LogLevel.Information, "Device {Device}: permission to map ports set to {Permission} through the admin endpoint")]
    public static partial void DevicePermissionSet(ILogger logger, string device, string permission);

    [LoggerMessage(1050, LogLevel.Warning, "Cannot read the saved device permissions ({Reason}); none are in force until one is set again")]
    public static partial void DevicePermissionsUnreadable(ILogger logger, string reason);

    [LoggerMessage(1051, LogLevel.Warning, "The webhook {Url} did not take event {Id} after 3 tries ({Reason}); it is dropped")]
    public static partial void WebhookFailed(ILogger logger, string url, long id, string reason);

    [LoggerMessage(1052, LogLevel.Information, "Open NAT (endpoint-independent UDP mapping and filtering) for {Count} device(s): {Devices}")]
    public static partial void OpenNatDevices(ILogger logger, int count, string devices);

    [LoggerMessage(1053, LogLevel.Warning, "The kernel refused the Open NAT devices ({Reason}); the previous ones stay")]
    public static partial void OpenNatRefused(ILogger logger, string reason);

    [LoggerMessage(1054, LogLevel.Information, "Device {Device}: Open NAT turned {State} through the admin endpoint")]
    public static partial void OpenNatSet(ILogger logger, string device, string state);

    [LoggerMessage(1042, LogLevel.Warning, "The kernel refused lease {Id} ({Protocol} {ExternalPort} -> {InternalAddress}:{InternalPort}); it was removed, every other lease stays")]
    public static partial void KernelRefusedLease(ILogger logger, long id, MappingProtocol protocol, ushort externalPort, IPAddress internalAddress, ushort internalPort);

    [LoggerMessage(1043, LogLevel.Error, "Could not program the kernel even without mappings ({Reason}); its previous state stays in place")]
    public static partial void KernelUnavailable(ILogger logger, string reason);

    [LoggerMessage(6011, LogLevel.Debug, "RTSP: {Client} to {Server}: ignored a segment: {Reason}")]
    public static partial void RtspSegmentIgnored(ILogger logger, IPAddress client, IPAddress server, string reason);

    [LoggerMessage(2020, LogLevel.Debug, "Port control: answer to {Destination} dropped ({Error}): the send buffer is full of answers to hosts that do not resolve")]
    public static partial void PortControlReplyDropped(ILogger logger, IPEndPoint destination, System.Net.Sockets.SocketError error);

    [LoggerMessage(7000, LogLevel.Information, "Upstream: {Protocol} server at {Server} ({Source}), public address {PublicAddress}: mappings are carried through to it")]
    public static partial void UpstreamFound(ILogger logger, string protocol, IPAddress server, IPAddress? publicAddress, string source);

    [LoggerMessage(7001, LogLevel.Information, "Upstream: {Reason}; mappings stay local (looking again in {Seconds} s)")]
    public static partial void UpstreamNotFound(ILogger logger, string reason, int seconds);

    [LoggerMessage(7002, LogLevel.Debug, "Upstream: lease {LeaseId} ({Protocol} {Port}) refused: {Detail}")]
    public static partial void UpstreamRefused(ILogger logger, long leaseId, MappingProtocol protocol, ushort port, string detail);

    [LoggerMessage(7003, LogLevel.Debug, "Upstream: lease {LeaseId} ({Protocol} {Port}) kept local only: {Detail}")]
    public static partial void UpstreamLocalOnly(ILogger logger, long leaseId, MappingProtocol protocol, ushort port, string detail);

    [LoggerMessage(7004, LogLevel.Debug, "Upstream: mapping of lease {LeaseId} ({Protocol} {Port}) deleted: {Detail}")]
    public static partial void UpstreamDeleted(ILogger logger, long leaseId, MappingProtocol protocol, ushort port, string detail);

    [LoggerMessage(7005, LogLevel.Warning, "Upstream: the {Protocol} server did not answer {Count} checks in a row; looking for it again")]
    public static partial void UpstreamSilent(ILogger logger, string protocol, int count);

    [LoggerMessage(7006, LogLevel.Warning, "Upstream: the {Protocol} server lost or moved its mappings ({Reason}); asking again for {Count}")]
    public static partial void UpstreamRestarted(ILogger logger, string protocol, string reason, int count);

    [LoggerMessage(7007, LogLevel.Debug, "Upstream: {Protocol} announcement, epoch {Epoch} s")]
    public static partial void UpstreamAnnounced(ILogger logger, string protocol, uint epoch);

    [LoggerMessage(7009, LogLevel.Information, "Upstream: the Internet sees this gateway as {PublicAddress} (through {Server}); clients are told that address")]
    public static partial void PublicAddress(ILogger logger, IPAddress publicAddress, IPAddress? server);

    [LoggerMessage(7010, LogLevel.Information, "Upstream: the server is now {Server} ({Source}), not {Previous}; looking for it")]
    public static partial void UpstreamServerChanged(ILogger logger, IPAddress previous, IPAddress server, string source);

    [LoggerMessage(7008, LogLevel.Warning, "Upstream: cannot listen for announcements on {Interface} ({Error}); restarts are noticed by the minute's check")]
    public static partial void UpstreamListenFailed(ILogger logger, string @interface, string error);
}
