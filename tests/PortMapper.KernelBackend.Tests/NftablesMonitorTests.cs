using System.Text;
using PortMapper.KernelBackend.Netlink;

namespace PortMapper.KernelBackend.Tests;

/// <summary>Which nftables notifications wake the reconciler: deletions touching the daemon's table, and nothing else.</summary>
public class NftablesMonitorTests
{
    private const ushort DelTable = (10 << 8) | 2;
    private const ushort DelRule = (10 << 8) | 8;
    private const ushort NewSetElem = (10 << 8) | 12;
    private const ushort DelSetElem = (10 << 8) | 14;
    private const ushort NewGen = (10 << 8) | 15;

    private static readonly byte[] s_table = Encoding.ASCII.GetBytes("portmapper");
    private static readonly byte[] s_sentinel = Encoding.ASCII.GetBytes("intact");

    [Fact]
    public void TableDeleted_Wakes() => Assert.True(Wakes(Message(DelTable, ("portmapper", null))));

    [Fact]
    public void RuleOfTheTableDeleted_Wakes() => Assert.True(Wakes(Message(DelRule, ("portmapper", null))));

    [Fact]
    public void AnotherTableDeleted_DoesNotWake() => Assert.False(Wakes(Message(DelTable, ("filter", null))));

    [Fact]
    public void ElementsAdded_DoNotWake() => Assert.False(Wakes(Message(NewSetElem, ("portmapper", "intact"))));

    [Fact]
    public void ElementsOfAMappingSetDeleted_DoNotWake() => Assert.False(Wakes(Message(DelSetElem, ("portmapper", "nat4"))));

    [Fact]
    public void SentinelElementDeleted_Wakes() => Assert.True(Wakes(Message(DelSetElem, ("portmapper", "intact"))));

    [Fact]
    public void DeletionAfterOtherMessagesInOneDatagram_Wakes() =>
        Assert.True(Wakes([.. Message(NewGen, (null, null)), .. Message(DelSetElem, ("portmapper", "nat4")), .. Message(DelTable, ("portmapper", null))]));

    [Fact]
    public void TruncatedOrForeignDatagram_DoesNotWake()
    {
        byte[] message = Message(DelTable, ("portmapper", null));
        for (int length = 0; length < message.Length; length++)
        {
            Assert.False(Wakes(message[..length]));
        }

        byte[] otherSubsystem = Message((11 << 8) | 2, ("portmapper", null)); // not NFNL_SUBSYS_NFTABLES
        Assert.False(Wakes(otherSubsystem));
    }

    private static bool Wakes(byte[] datagram) => NftablesMonitor.MayRemove(datagram, s_table, s_sentinel);

    /// <summary>A notification: nfgenmsg, then the table name (attribute 1) and, for elements, the set (attribute 2).</summary>
    private static byte[] Message(ushort type, (string? Table, string? Set) names)
    {
        var attributes = new List<byte>();
        if (names.Table is not null)
        {
            attributes.AddRange(NfnetlinkMessage.Attribute(1, Encoding.ASCII.GetBytes(names.Table + "\0")));
        }

        if (names.Set is not null)
        {
            attributes.AddRange(NfnetlinkMessage.Attribute(2, Encoding.ASCII.GetBytes(names.Set + "\0")));
        }

        return NfnetlinkMessage.Build(type, 0, 0, 1, 0, attributes.ToArray());
    }
}
