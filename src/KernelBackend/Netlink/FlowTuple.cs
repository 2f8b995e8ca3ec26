using System.Buffers.Binary;
using System.Net;

namespace PortMapper.KernelBackend.Netlink;

/// <summary>One direction of a conntrack flow: CTA_TUPLE_ORIG or CTA_TUPLE_REPLY.</summary>
internal readonly record struct FlowTuple(IPAddress Source, ushort SourcePort, IPAddress Destination, ushort DestinationPort, byte Protocol)
{
    private const ushort CtaTupleIp = 1;
    private const ushort CtaTupleProto = 2;
    private const ushort CtaIpV4Src = 1;
    private const ushort CtaIpV4Dst = 2;
    private const ushort CtaIpV6Src = 3;
    private const ushort CtaIpV6Dst = 4;
    private const ushort CtaProtoNum = 1;
    private const ushort CtaProtoSrcPort = 2;
    private const ushort CtaProtoDstPort = 3;

    /// <summary>Reads a tuple attribute's payload; null when it lacks an address.</summary>
    public static FlowTuple? Read(ReadOnlySpan<byte> tuple)
    {
        IPAddress? source = null, destination = null;
        byte protocol = 0;
        ushort sourcePort = 0, destinationPort = 0;
        foreach (NetlinkAttributes part in new NetlinkAttributes(tuple))
        {
            if (part.Type == CtaTupleIp)
            {
                foreach (NetlinkAttributes ip in new NetlinkAttributes(part.Payload))
                {
                    if ((ip.Type == CtaIpV4Dst && ip.Payload.Length == 4) || (ip.Type == CtaIpV6Dst && ip.Payload.Length == 16))
                    {
                        destination = new IPAddress(ip.Payload);
                    }
                    else if ((ip.Type == CtaIpV4Src && ip.Payload.Length == 4) || (ip.Type == CtaIpV6Src && ip.Payload.Length == 16))
                    {
                        source = new IPAddress(ip.Payload);
                    }
                }
            }
            else if (part.Type == CtaTupleProto)
            {
                foreach (NetlinkAttributes proto in new NetlinkAttributes(part.Payload))
                {
                    if (proto.Type == CtaProtoNum && proto.Payload.Length >= 1)
                    {
                        protocol = proto.Payload[0];
                    }
                    else if (proto.Type == CtaProtoSrcPort && proto.Payload.Length >= 2)
                    {
                        sourcePort = BinaryPrimitives.ReadUInt16BigEndian(proto.Payload);
                    }
                    else if (proto.Type == CtaProtoDstPort && proto.Payload.Length >= 2)
                    {
                        destinationPort = BinaryPrimitives.ReadUInt16BigEndian(proto.Payload);
                    }
                }
            }
        }

        return source is null || destination is null ? null : new FlowTuple(source, sourcePort, destination, destinationPort, protocol);
    }

    /// <summary>Whether an ended endpoint admitted the flow with these two directions (see <see cref="FlowEndpoint"/>).</summary>
    public static bool Admitted(FlowEndpoint e, FlowTuple original, FlowTuple reply)
    {
        if (original.Protocol != (byte)e.Protocol)
        {
            return false;
        }

        bool inbound = original.DestinationPort == e.Port && original.Destination.Equals(e.Address)
            && (e.From is null || original.Source.Equals(e.From))
            && (e.InternalAddress is null || (reply.Source.Equals(e.InternalAddress) && reply.SourcePort == e.InternalPort));
        bool outbound = e.InternalAddress is not null
            && original.Source.Equals(e.InternalAddress) && original.SourcePort == e.InternalPort
            && reply.Destination.Equals(e.Address) && reply.DestinationPort == e.Port;
        return inbound || outbound;
    }
}
