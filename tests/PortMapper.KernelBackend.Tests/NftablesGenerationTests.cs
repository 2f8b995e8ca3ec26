using System.Buffers.Binary;
using PortMapper.KernelBackend.Netlink;

namespace PortMapper.KernelBackend.Tests;

/// <summary>The kernel's NEWGEN answer to GETGEN: the generation attribute of the answer to our sequence.</summary>
public class NftablesGenerationTests
{
    [Fact]
    public void Answer_GenerationRead_OnlyFromTheAnswerToOurRequest()
    {
        byte[] answer = NewGen(sequence: 1, generation: 0x01020304);
        Assert.Equal(0x01020304u, NftablesGeneration.Parse(answer, 1));
        Assert.Null(NftablesGeneration.Parse(answer, 2));
        Assert.Null(NftablesGeneration.Parse(answer.AsSpan(0, answer.Length - 2), 1));
        byte[] other = NewGen(1, 5);
        BinaryPrimitives.WriteUInt16LittleEndian(other.AsSpan(4), (10 << 8) | 12); // NEWSETELEM, not NEWGEN
        Assert.Null(NftablesGeneration.Parse(other, 1));
    }

    [Fact]
    public void ThisMachine_TellsAGeneration() => Assert.NotNull(NftablesGeneration.Read());

    /// <summary>nlmsghdr, nfgenmsg, then NFTA_GEN_ID (big-endian) and NFTA_GEN_PROC_PID.</summary>
    private static byte[] NewGen(uint sequence, uint generation)
    {
        byte[] message = new byte[16 + 4 + 8 + 8];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)message.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), (10 << 8) | 15);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), sequence);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(20), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(22), 1);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(24), generation);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(28), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(30), 2);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(32), 4242);
        return message;
    }
}
