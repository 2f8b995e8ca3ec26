using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// The state directory's filesystem fills up (a 256 KiB tmpfs here): new mappings get NAT-PMP's "out of
/// resources" (they could not be made durable), existing leases keep forwarding, the log says so once, and
/// mappings are granted again as soon as there is space. The daemon never stops over it, and starts on a full disk.
/// </summary>
public class FullDiskTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public FullDiskTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private static byte[] MapRequest(ushort port) =>
    [
        0, 1, 0, 0, (byte)(port >> 8), (byte)port, (byte)(port >> 8), (byte)port, 0, 0, 0x0E, 0x10, // UDP, 3600 s
    ];

    /// <summary>The NAT-PMP result code of a UDP map request for <paramref name="port"/>.</summary>
    private async Task<int> MapAsync(ushort port)
    {
        byte[]? reply = await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, MapRequest(port), TimeSpan.FromSeconds(2));
        Assert.NotNull(reply);
        return BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2));
    }

    private async Task<bool> ForwardsAsync(int port, string text)
    {
        using Socket lan = GatewayLab.Udp(_lab.Lan1, port);
        using Socket wan = GatewayLab.Udp(_lab.Wan, 9000 + (port % 1000));
        await wan.SendToAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, new IPEndPoint(GatewayLab.External, port));
        return await GatewayLab.ReceiveAsync(lan, TimeSpan.FromSeconds(1)) is { } got && Encoding.ASCII.GetString(got.Data) == text;
    }

    [Fact]
    public async Task FullStateFilesystem_NewMappingsOutOfResources_OldOnesWork_ResumesWithSpace()
    {
        await _lab.Daemon!.StopAsync();
        // Mounted from the test's own mount namespace (ip netns exec gives each command a private one), before the
        // daemon starts, so that the daemon sees it.
        ProcessResult mount = await Shell.RunAsync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", _lab.StateDirectory]);
        Assert.True(mount.ExitCode == 0, mount.ToString());
        string fill = Path.Combine(_lab.StateDirectory, "fill");
        try
        {
            await _lab.Daemon.StartAsync();
            Assert.Equal(0, await MapAsync(18900));
            Assert.True(await ForwardsAsync(18900, "before"));

            // Fill the filesystem to the last block; the journal's own last block may still take a few records.
            await using (var stream = new FileStream(fill, FileMode.Create))
            {
                byte[] block = new byte[4096];
                try
                {
                    while (true)
                    {
                        stream.Write(block);
                        stream.Flush();
                    }
                }
                catch (IOException)
                {
                }
            }

            int result = 0;
            ushort port = 19000;
            while (result == 0 && port < 19200)
            {
                result = await MapAsync(port++);
            }

            Assert.Equal(4, result); // Out of resources
            Assert.Equal(4, await MapAsync(19500));
            Assert.Equal(4, await MapAsync(19501));

            // The lease from before forwards; a delete still works; one error line for all the refusals.
            Assert.True(await ForwardsAsync(18900, "during"));
            // The log reaches the test through a pipe: wait for the line before counting it.
            await _lab.Daemon.WaitForLogAsync("Cannot write the lease journal", TimeSpan.FromSeconds(5));
            Assert.Equal(1, CountOf(_lab.Daemon.Log, "Cannot write the lease journal"));

            // Space again: the next request is granted, and the journal took it.
            File.Delete(fill);
            Assert.Equal(0, await MapAsync(19502));
            await _lab.Daemon.WaitForLogAsync("lease journal in " + _lab.StateDirectory + " is writable again", TimeSpan.FromSeconds(5));
            Assert.True(await ForwardsAsync(19502, "after"));

            // And what was granted survives a kill: the journal is whole (nothing torn in the middle of it).
            await _lab.Daemon.KillAsync();
            await _lab.Daemon.StartAsync();
            Assert.Contains(" 0 dropped", _lab.Daemon.Log, StringComparison.Ordinal);
            Assert.DoesNotContain("interrupted write", _lab.Daemon.Log, StringComparison.Ordinal);
            Assert.True(await ForwardsAsync(18900, "restarted"));
            Assert.True(await ForwardsAsync(19502, "restarted"));
            Assert.Equal(0, await MapAsync(19503));
        }
        finally
        {
            await _lab.Daemon.StopAsync();
            await Shell.RunAsync("umount", [_lab.StateDirectory]);
        }
    }

    private static int CountOf(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
