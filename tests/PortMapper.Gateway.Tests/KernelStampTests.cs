using System.Net;
using PortMapper.Gateway.Engine;
using PortMapper.Gateway.Leases;
using PortMapper.Protocols.Mapping;

namespace PortMapper.Gateway.Tests;

public class KernelStampTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private static readonly IPAddress s_host = IPAddress.Parse("192.168.77.10");

    private static Lease LeaseOf(long id, ushort port, DateTimeOffset? expires) =>
        new(id, MappingProtocol.Tcp, port, s_host, port, s_host, null, MappingOrigin.NatPmp, "x", null, s_now, expires);

    [Fact]
    public void Digest_SameLeasesInAnyOrder_SameDigest_AnyKernelFieldChanged_Another()
    {
        Lease a = LeaseOf(1, 5000, s_now.AddHours(1)), b = LeaseOf(2, 6000, null);
        string digest = KernelStamp.Digest([a, b]);
        Assert.Equal(digest, KernelStamp.Digest([b, a]));
        Assert.Equal(digest, KernelStamp.Digest([a with { Description = "renamed" }, b])); // not in the kernel
        Assert.NotEqual(digest, KernelStamp.Digest([a with { Expires = s_now.AddHours(2) }, b]));
        Assert.NotEqual(digest, KernelStamp.Digest([a with { InternalPort = 5001 }, b]));
        Assert.NotEqual(digest, KernelStamp.Digest([a with { RemotePeer = new IPEndPoint(IPAddress.Parse("198.51.100.7"), 80) }, b]));
        Assert.NotEqual(digest, KernelStamp.Digest([a, b with { Filters = [new MappingFilter(IPNetwork.Parse("198.51.100.0/24"), 0)] }]));
        Assert.NotEqual(digest, KernelStamp.Digest([a]));
    }

    [Fact]
    public void WrittenThenTaken_Once()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Path);
        var stamp = new KernelStamp("boot net:[1] 7 ABC", IPAddress.Parse("203.0.113.1"), "D1");
        KernelStamp.Write(dir.Path, stamp);
        Assert.Equal(stamp, KernelStamp.Take(dir.Path));
        Assert.Null(KernelStamp.Take(dir.Path)); // taken: a crash after this start leaves none

        KernelStamp.Write(dir.Path, stamp with { External = null });
        Assert.Null(KernelStamp.Take(dir.Path)?.External);

        foreach (string bad in (string[])["", "only one line\n", "k\nnot-an-address\nD\n", "k\n-\n\n"])
        {
            File.WriteAllText(Path.Combine(dir.Path, KernelStamp.FileName), bad);
            Assert.Null(KernelStamp.Take(dir.Path));
            Assert.False(File.Exists(Path.Combine(dir.Path, KernelStamp.FileName)));
        }
    }
}
