using System.Net;

namespace PortMapper.Protocols.Mdns;

/// <summary>
/// One DNS-SD service (RFC 6763): the records that describe it, and which of them answer a question. PTR records
/// are shared (TTL 4500 s); SRV, TXT and A belong to this host alone (TTL 120 s, cache-flush).
/// </summary>
public sealed class ServiceAdvertisement
{
    public const string ServicesName = "_services._dns-sd._udp.local";
    private const uint SharedTtl = 4500;
    private const uint HostTtl = 120;

    public ServiceAdvertisement(string instance, string serviceType, string host, IPAddress address, ushort port, params string[] txt)
    {
        ServiceName = serviceType + ".local";
        InstanceName = $"{instance}.{ServiceName}";
        HostName = host + ".local";
        Ptr = new MdnsRecord(ServiceName, DnsType.Ptr, SharedTtl, MdnsCodec.Name(InstanceName), Unique: false);
        Enumeration = new MdnsRecord(ServicesName, DnsType.Ptr, SharedTtl, MdnsCodec.Name(ServiceName), Unique: false);
        Srv = new MdnsRecord(InstanceName, DnsType.Srv, HostTtl, MdnsCodec.Srv(port, HostName), Unique: true);
        Txt = new MdnsRecord(InstanceName, DnsType.Txt, SharedTtl, MdnsCodec.Txt(txt), Unique: true);
        A = new MdnsRecord(HostName, DnsType.A, HostTtl, address.GetAddressBytes(), Unique: true);
    }

    public string ServiceName { get; }

    public string InstanceName { get; }

    public string HostName { get; }

    public MdnsRecord Ptr { get; }

    public MdnsRecord Enumeration { get; }

    public MdnsRecord Srv { get; }

    public MdnsRecord Txt { get; }

    public MdnsRecord A { get; }

    /// <summary>Everything, as announced at start (and, with TTL 0, withdrawn at stop).</summary>
    public IReadOnlyList<MdnsRecord> All => [Ptr, Srv, Txt, A, Enumeration];

    /// <summary>The answers to a question, and the additional records that save the asker another round (RFC 6763 §12).</summary>
    public (List<MdnsRecord> Answers, List<MdnsRecord> Additional) Answer(MdnsQuestion question)
    {
        bool any = question.Type == DnsType.Any;
        if (MdnsCodec.SameName(question.Name, ServiceName) && (any || question.Type == DnsType.Ptr))
        {
            return ([Ptr], [Srv, Txt, A]);
        }

        if (MdnsCodec.SameName(question.Name, ServicesName) && (any || question.Type == DnsType.Ptr))
        {
            return ([Enumeration], []);
        }

        if (MdnsCodec.SameName(question.Name, InstanceName))
        {
            List<MdnsRecord> answers = [.. new[] { Srv, Txt }.Where(r => any || r.Type == question.Type)];
            return (answers, answers.Count > 0 ? [A] : []);
        }

        if (MdnsCodec.SameName(question.Name, HostName) && (any || question.Type == DnsType.A))
        {
            return ([A], []);
        }

        return ([], []);
    }
}
