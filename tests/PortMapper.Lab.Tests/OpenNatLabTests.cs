using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>A lab whose Open NAT mappings idle out after 15 s (the default is 300 s), so that a test can watch one go.</summary>
public sealed class OpenNatLab : GatewayLab
{
    public const int IdleSeconds = 15;

    public OpenNatLab()
    {
        ConfigJson = $$"""{ "openNat": { "idleTimeout": {{IdleSeconds}} } }""";
    }
}

/// <summary>
/// Open NAT in the kernel: a device with Open NAT that sent UDP from port X to one WAN host is reached on external
/// port X by another WAN host it never contacted, and its flows to anyone leave from X; a device without it is not
/// reached; a second Open NAT device on the same internal port gets another external port, the same for all its
/// flows; turned off, a device's mappings are gone at once; idle, they are gone after the idle timeout. Where a
/// packet must not arrive, a packet sent right after it on the same path (to a NAT-PMP mapping of the same device)
/// arriving first is the signal.
/// </summary>
public partial class OpenNatLabTests : IClassFixture<OpenNatLab>
{
    private static readonly IPAddress Contacted = GatewayLab.WanHost;      // 203.0.113.2
    private static readonly IPAddress Stranger = GatewayLab.WanHost2;      // 203.0.113.3, never contacted
    private readonly OpenNatLab _lab;

    public OpenNatLabTests(OpenNatLab lab)
    {
        _lab = lab;
    }

    private static Socket Udp(string ns, IPAddress address, int port) => NetNs.Run(ns, () =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(address, port));
        return s;
    });

    private static async Task<(string Text, IPEndPoint From)?> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        byte[] buffer = new byte[1500];
        try
        {
            SocketReceiveFromResult r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            return (Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes), (IPEndPoint)r.RemoteEndPoint);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static Task SendAsync(Socket socket, string text, IPAddress to, int port) =>
        socket.SendToAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, new IPEndPoint(to, port));

    private async Task NatPmpMapAsync(string ns, ushort port)
    {
        byte[] request = [0, 1, 0, 0, (byte)(port >> 8), (byte)port, (byte)(port >> 8), (byte)port, 0, 0, 0x0E, 0x10];
        byte[]? reply = await GatewayLab.NatPmpExchangeAsync(ns, GatewayLab.GatewayLan, request, TimeSpan.FromSeconds(2));
        Assert.NotNull(reply);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2)));
    }

    private async Task<JsonElement> DeviceAsync(string id)
    {
        string token = (await File.ReadAllTextAsync(Path.Combine(_lab.StateDirectory, "admin.token"))).Trim();
        ProcessResult get = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-sf", "-H", "Authorization: Bearer " + token, "http://127.0.0.1:8470/api/devices");
        Assert.True(get.ExitCode == 0, get.ToString());
        return JsonDocument.Parse(get.Output).RootElement.EnumerateArray().Single(d => d.GetProperty("id").GetString() == id).Clone();
    }

    private static List<(int External, string Address, int Internal)> Mappings(JsonElement device) =>
        [.. device.GetProperty("openNatMappings").EnumerateArray().Select(m => (m.GetProperty("externalPort").GetInt32(), m.GetProperty("internalAddress").GetString()!, m.GetProperty("internalPort").GetInt32()))];

    /// <summary>Polls the device until its Open NAT mappings satisfy <paramref name="done"/>.</summary>
    private async Task<JsonElement> WaitForDeviceAsync(string id, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        DateTime until = DateTime.UtcNow + timeout;
        JsonElement device;
        do
        {
            device = await DeviceAsync(id);
            if (done(device))
            {
                return device;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < until);
        throw new Xunit.Sdk.XunitException($"device {id} did not get there: {device}");
    }

    /// <summary>
    /// The stranger sends to the external port; then, on the same path, to the NAT-PMP mapping the same device holds.
    /// Once that second packet arrives, the first one had its chance: it must not have come.
    /// </summary>
    private static async Task AssertNotReachedAsync(Socket stranger, Socket target, int externalPort, Socket sentinel, int sentinelPort)
    {
        await SendAsync(stranger, "probe", GatewayLab.External, externalPort);
        await SendAsync(stranger, "sentinel", GatewayLab.External, sentinelPort);
        Assert.Equal("sentinel", (await ReceiveAsync(sentinel, TimeSpan.FromSeconds(3)))?.Text);
        Assert.Equal(0, target.Available);
    }

    [Fact]
    public async Task OpenNat_EndpointIndependentMappingAndFiltering_PerDevice_InTheKernel()
    {
        string mac1 = MacPattern().Match((await Shell.CheckedAsync(_lab.Lan1, "ip", "-br", "link", "show", "eth0")).Output).Value;
        Assert.NotEmpty(mac1);

        // Sentinel paths: each LAN host holds a NAT-PMP mapping of its own.
        await NatPmpMapAsync(_lab.Lan1, 4100);
        await NatPmpMapAsync(_lab.Lan2, 4101);
        using Socket sentinel1 = Udp(_lab.Lan1, IPAddress.Any, 4100);
        using Socket sentinel2 = Udp(_lab.Lan2, IPAddress.Any, 4101);
        using Socket contacted = Udp(_lab.Wan, Contacted, 5000);
        using Socket stranger = Udp(_lab.Wan, Stranger, 6000);

        // Open NAT for the first device, by MAC, from the CLI.
        ProcessResult on = await Shell.InNamespaceAsync(_lab.Gw, [Repository.DaemonPath, "devices", "opennat", mac1, "on", "--state-dir", _lab.StateDirectory]);
        Assert.True(on.ExitCode == 0, on.ToString());
        Assert.Contains("on (set)", on.Output, StringComparison.Ordinal);

        // It sends from port 4000 to one WAN host: the packet leaves from external port 4000.
        using Socket device1 = Udp(_lab.Lan1, IPAddress.Any, 4000);
        await SendAsync(device1, "hello", Contacted, 5000);
        var first = await ReceiveAsync(contacted, TimeSpan.FromSeconds(3));
        Assert.Equal(("hello", new IPEndPoint(GatewayLab.External, 4000)), (first?.Text, first?.From));
        await WaitForDeviceAsync(mac1, d => Mappings(d).Contains((4000, "192.168.77.10", 4000)), TimeSpan.FromSeconds(5));

        // A WAN host it never contacted reaches it on that port (endpoint-independent filtering), and its answer
        // leaves from the same external port (endpoint-independent mapping).
        await SendAsync(stranger, "unsolicited", GatewayLab.External, 4000);
        var reached = await ReceiveAsync(device1, TimeSpan.FromSeconds(3));
        Assert.Equal(("unsolicited", new IPEndPoint(Stranger, 6000)), (reached?.Text, reached?.From));
        await SendAsync(device1, "answer", Stranger, 6000);
        DateTime lastSent = DateTime.UtcNow;
        var answer = await ReceiveAsync(stranger, TimeSpan.FromSeconds(3));
        Assert.Equal(("answer", new IPEndPoint(GatewayLab.External, 4000)), (answer?.Text, answer?.From));

        // A device without Open NAT: the same exchange, and the stranger's packet does not get through.
        using Socket device2 = Udp(_lab.Lan2, IPAddress.Any, 4001);
        await SendAsync(device2, "hello", Contacted, 5000);
        Assert.Equal("hello", (await ReceiveAsync(contacted, TimeSpan.FromSeconds(3)))?.Text);
        await AssertNotReachedAsync(stranger, device2, 4001, sentinel2, 4101);

        // A second Open NAT device (by address) on the same internal port: another external port, the same one
        // for every destination, and reachable there from anyone.
        ProcessResult on2 = await Shell.InNamespaceAsync(_lab.Gw, [Repository.DaemonPath, "devices", "opennat", "192.168.77.11", "on", "--state-dir", _lab.StateDirectory]);
        Assert.True(on2.ExitCode == 0, on2.ToString());
        using Socket device2b = Udp(_lab.Lan2, IPAddress.Any, 4000);
        await SendAsync(device2b, "to-contacted", Contacted, 5000);
        var viaOther = await ReceiveAsync(contacted, TimeSpan.FromSeconds(3));
        Assert.Equal("to-contacted", viaOther?.Text);
        int other = viaOther!.Value.From.Port;
        Assert.NotEqual(4000, other);
        await SendAsync(device2b, "to-stranger", Stranger, 6000);
        var viaOther2 = await ReceiveAsync(stranger, TimeSpan.FromSeconds(3));
        Assert.Equal(("to-stranger", new IPEndPoint(GatewayLab.External, other)), (viaOther2?.Text, viaOther2?.From));
        await WaitForDeviceAsync("192.168.77.11", d => Mappings(d).Contains((other, "192.168.77.11", 4000)), TimeSpan.FromSeconds(5));
        using Socket stranger2 = Udp(_lab.Wan, Stranger, 6002);
        await SendAsync(stranger2, "to-second", GatewayLab.External, other);
        Assert.Equal("to-second", (await ReceiveAsync(device2b, TimeSpan.FromSeconds(3)))?.Text);

        // Turned off: that device's mappings are gone at once; the first device keeps its own.
        ProcessResult off2 = await Shell.InNamespaceAsync(_lab.Gw, [Repository.DaemonPath, "devices", "opennat", "192.168.77.11", "off", "--state-dir", _lab.StateDirectory]);
        Assert.True(off2.ExitCode == 0, off2.ToString());
        JsonElement second = await DeviceAsync("192.168.77.11");
        Assert.Empty(Mappings(second));
        Assert.False(second.GetProperty("openNat").GetBoolean());
        using Socket stranger3 = Udp(_lab.Wan, Stranger, 6003);
        await AssertNotReachedAsync(stranger3, device2b, other, sentinel2, 4101);
        Assert.Contains((4000, "192.168.77.10", 4000), Mappings(await DeviceAsync(mac1)));

        // Idle: once the device has not sent from port 4000 for the idle timeout, the mapping is gone and a new
        // stranger's packet is dropped.
        await WaitForDeviceAsync(mac1, d => Mappings(d).Count == 0, TimeSpan.FromSeconds(OpenNatLab.IdleSeconds + 15));
        Assert.InRange((DateTime.UtcNow - lastSent).TotalSeconds, OpenNatLab.IdleSeconds - 1, OpenNatLab.IdleSeconds + 15);
        using Socket stranger4 = Udp(_lab.Wan, Stranger, 6004);
        await AssertNotReachedAsync(stranger4, device1, 4000, sentinel1, 4100);
        Assert.True((await DeviceAsync(mac1)).GetProperty("openNat").GetBoolean());
    }

    [GeneratedRegex("([0-9a-f]{2}:){5}[0-9a-f]{2}")]
    private static partial Regex MacPattern();
}
