using System.Buffers.Binary;
using System.Text.Json;
using System.Text.RegularExpressions;
using PortMapper.Conformance.PcpClient;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// Devices against the real daemon: a device that maps a port is listed with its MAC and lease; denied from the
/// CLI, its lease leaves the kernel at once, every protocol answers it "not authorized", another device is not
/// affected, the permission survives a restart, and allowing it again lets it map.
/// </summary>
public partial class DeviceLabTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public DeviceLabTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private static byte[] NatPmpMap(ushort port) =>
        [0, 1, 0, 0, (byte)(port >> 8), (byte)port, (byte)(port >> 8), (byte)port, 0, 0, 0x0E, 0x10];

    private async Task<int> NatPmpResultAsync(string ns, ushort port)
    {
        byte[]? reply = await GatewayLab.NatPmpExchangeAsync(ns, GatewayLab.GatewayLan, NatPmpMap(port), TimeSpan.FromSeconds(2));
        Assert.NotNull(reply);
        return BinaryPrimitives.ReadUInt16BigEndian(reply.AsSpan(2));
    }

    private Task<ProcessResult> CliAsync(params string[] args) =>
        Shell.InNamespaceAsync(_lab.Gw, [Repository.DaemonPath, .. args, "--state-dir", _lab.StateDirectory]);

    private async Task<JsonElement> DevicesJsonAsync()
    {
        string token = (await File.ReadAllTextAsync(Path.Combine(_lab.StateDirectory, "admin.token"))).Trim();
        ProcessResult get = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-sf", "-H", "Authorization: Bearer " + token, "http://127.0.0.1:8470/api/devices");
        Assert.True(get.ExitCode == 0, get.ToString());
        return JsonDocument.Parse(get.Output).RootElement.Clone();
    }

    [Fact]
    public async Task DeniedDevice_LosesItsLeases_IsRefusedEverywhere_UntilAllowedAgain()
    {
        string mac = MacPattern().Match((await Shell.CheckedAsync(_lab.Lan1, "ip", "-br", "link", "show", "eth0")).Output).Value;
        Assert.NotEmpty(mac);

        Assert.Equal(0, await NatPmpResultAsync(_lab.Lan1, 7100));
        Assert.Contains("udp . 7100", await _lab.KernelTableAsync(), StringComparison.Ordinal);

        JsonElement listed = (await DevicesJsonAsync()).EnumerateArray().Single(d => d.GetProperty("mac").GetString() == mac);
        Assert.Equal(1, listed.GetProperty("leases").GetInt32());
        Assert.Contains("192.168.77.10", listed.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(("allow", "default"), (listed.GetProperty("permission").GetString(), listed.GetProperty("permissionSource").GetString()));

        // Denied: the answer comes once the lease is out of the kernel.
        ProcessResult deny = await CliAsync("devices", "deny", mac.ToUpperInvariant());
        Assert.True(deny.ExitCode == 0, deny.ToString());
        Assert.Contains("deny (set)", deny.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("udp . 7100", await _lab.KernelTableAsync(), StringComparison.Ordinal);

        // Every protocol says "not authorized"; another device maps as before.
        Assert.Equal(2, await NatPmpResultAsync(_lab.Lan1, 7101));
        PcpAnswer? pcp = await GatewayLab.PcpAsync(_lab.Lan1, GatewayLab.Lan1Address, GatewayLab.GatewayLan,
            PcpMessage.Map(GatewayLab.Lan1Address, PcpMessage.Udp, 7102, 7102, 600, PcpMessage.NewNonce()));
        Assert.Equal(PcpAnswer.NotAuthorized, pcp?.Result);
        ProcessResult upnp = await Shell.InNamespaceAsync(_lab.Lan1, "upnpc", "-u", "http://192.168.77.1:5000/rootDesc.xml", "-a", "192.168.77.10", "7103", "7103", "TCP", "600");
        Assert.Contains("606", upnp.Output, StringComparison.Ordinal);
        Assert.Equal(0, await NatPmpResultAsync(_lab.Lan2, 7104));

        // Kept across a restart.
        await _lab.Daemon!.StopAsync();
        await _lab.Daemon.StartAsync();
        Assert.Equal(2, await NatPmpResultAsync(_lab.Lan1, 7105));
        ProcessResult list = await CliAsync("devices");
        Assert.Matches($@"{mac}\s.*deny \(set\)", list.Output);

        ProcessResult allow = await CliAsync("devices", "allow", mac);
        Assert.True(allow.ExitCode == 0, allow.ToString());
        Assert.Equal(0, await NatPmpResultAsync(_lab.Lan1, 7106));
        Assert.Contains("udp . 7106", await _lab.KernelTableAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadDeviceChanges_AreRefused_AndChangeNothing()
    {
        string token = (await File.ReadAllTextAsync(Path.Combine(_lab.StateDirectory, "admin.token"))).Trim();
        foreach ((string device, string body) in new[] { ("laptop", "{\"permission\":\"deny\"}"), ("02:00:00:00:00:01", "{\"permission\":\"maybe\"}"), ("02:00:00:00:00:01", "not json") })
        {
            ProcessResult put = await Shell.InNamespaceAsync(_lab.Gw, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "Authorization: Bearer " + token,
                "--data", body, "http://127.0.0.1:8470/api/devices/" + device);
            Assert.Equal("400", put.Output.Trim());
        }

        Assert.DoesNotContain((await DevicesJsonAsync()).EnumerateArray(), d => d.GetProperty("id").GetString() is "02:00:00:00:00:01" or "laptop");
    }

    [GeneratedRegex("([0-9a-f]{2}:){5}[0-9a-f]{2}")]
    private static partial Regex MacPattern();
}
