using System.Buffers.Binary;
using System.Net;
using PortMapper.KernelBackend.Netlink;

namespace PortMapper.KernelBackend.Tests;

/// <summary>The WAN address from rtnetlink: a dump parsed in place, and the real kernel's answer for the loopback.</summary>
public class AddressTableTests
{
    [Fact]
    public void Loopback_FromTheKernel_HasItsAddress()
    {
        Assert.Contains(IPAddress.Loopback, AddressTable.IPv4Addresses("lo"));
    }

    [Fact]
    public void MissingInterface_HasNoAddresses()
    {
        Assert.Empty(AddressTable.IPv4Addresses("pm-nonexistent"));
    }

    [Fact]
    public void Dump_KeepsTheInterfacesAddresses_InOrder_LocalBeforePeer()
    {
        byte[] datagram =
        [
            .. Address(index: 3, (2, [203, 0, 113, 9])),
            .. Address(index: 2, (1, [198, 51, 100, 1]), (2, [203, 0, 113, 1])), // point-to-point: IFA_ADDRESS is the peer
            .. Address(index: 2, (1, [203, 0, 113, 7])),
            .. Message(type: 20, [10, 64, 0, 0, 2, 0, 0, 0]), // IPv6 family: not ours
        ];
        var found = new List<IPAddress>();
        Assert.False(AddressTable.Parse(datagram, 2, found)); // no NLMSG_DONE yet: more datagrams follow
        Assert.Equal([IPAddress.Parse("203.0.113.1"), IPAddress.Parse("203.0.113.7")], found);

        Assert.True(AddressTable.Parse(Message(type: 3, [0, 0, 0, 0]), 2, found));
        Assert.True(AddressTable.Parse(datagram.AsSpan(0, datagram.Length - 3), 2, [])); // cut off: the dump is over
    }

    private static byte[] Address(int index, params (ushort Type, byte[] Value)[] attributes)
    {
        var payload = new List<byte> { 2, 24, 0, 0 };
        payload.AddRange(BitConverter.GetBytes(index));
        foreach ((ushort type, byte[] value) in attributes)
        {
            payload.AddRange(BitConverter.GetBytes((ushort)(4 + value.Length)));
            payload.AddRange(BitConverter.GetBytes(type));
            payload.AddRange(value);
        }

        return Message(type: 20, [.. payload]);
    }

    private static byte[] Message(ushort type, byte[] payload)
    {
        byte[] message = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), 2); // NLM_F_MULTI
        payload.CopyTo(message.AsSpan(16));
        return message;
    }
}
