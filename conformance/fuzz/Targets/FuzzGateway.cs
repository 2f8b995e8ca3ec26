using System.Net;
using PortMapper.Gateway.Devices;
using PortMapper.Gateway.Leases;
using PortMapper.Gateway.SelfTest;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Fuzz;

/// <summary>
/// The state a fuzzed request meets: a real lease table and admission stage (secure mode, quotas, LAN policy) for
/// the LAN 192.168.77.0/24 and fd00:77::/64, holding leases of two other hosts, which no request from the fuzzed
/// client may change.
/// </summary>
internal sealed class FuzzGateway
{
    public static readonly IPAddress External = OfflineGateway.External;
    public static readonly IPAddress Client4 = IPAddress.Parse("192.168.77.10");
    public static readonly IPAddress Client6 = IPAddress.Parse("fd00:77::10");
    public static readonly IPAddress Other4 = IPAddress.Parse("192.168.77.20");
    public static readonly IPAddress Other6 = IPAddress.Parse("fd00:77::20");
    public static readonly DateTimeOffset Now = OfflineGateway.Now;

    public FuzzGateway(bool withOthers = true)
    {
        Offline = new OfflineGateway();
        Table = Offline.Table;
        var changes = new List<LeaseChange>();
        foreach ((IPAddress host, MappingProtocol protocol, ushort port) in new[]
        {
            (Other4, MappingProtocol.Tcp, (ushort)8080), (Other4, MappingProtocol.Udp, (ushort)5000), (Other6, MappingProtocol.Udp, (ushort)6000),
        }.Where(_ => withOthers))
        {
            var command = new MappingCommand(MappingCommandKind.Map, protocol, MappingOrigin.Pcp, host, host, port, port, 3600, "other");
            MappingOutcome outcome = Table.Execute(command, DeviceId.OfAddress(host), Now, changes);
            InvariantException.Check(outcome.Status == MappingStatus.Granted, "the other host's seed lease is granted");
        }

        Others = Snapshot(Table);
    }

    /// <summary>The request path the self-test also takes (lease table and the UPnP actions' view of it).</summary>
    public OfflineGateway Offline { get; }

    public LeaseTable Table { get; }

    /// <summary>The other hosts' leases as they were before the fuzzed request.</summary>
    public string Others { get; }

    public static DeviceId DeviceOf(IPAddress client) => DeviceId.OfAddress(client);

    public MappingOutcome Execute(in MappingCommand command, IPAddress client)
    {
        MappingOutcome outcome = Table.Execute(command, DeviceOf(client), Now, []);
        CheckOthersUntouched();
        return outcome;
    }

    /// <summary>No request from the fuzzed clients changes, removes or takes over another host's lease.</summary>
    public void CheckOthersUntouched() =>
        InvariantException.Check(Snapshot(Table) == Others, "a request changed another host's lease");

    private static string Snapshot(LeaseTable table) => string.Join('\n', table.Leases
        .Where(l => l.Client.Equals(Other4) || l.Client.Equals(Other6))
        .OrderBy(l => l.Id)
        .Select(l => $"{l.Id} {l.Protocol} {l.ExternalPort} {l.InternalAddress} {l.InternalPort} {l.Expires:O}"));
}
