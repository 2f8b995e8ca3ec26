using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>When a lease is deleted or runs out, the conntrack flows it admitted end with it.</summary>
public class FlowEndTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public FlowEndTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private static async Task<bool> GetsThroughAsync(Socket wan, Socket lan, int externalPort, string text)
    {
        await wan.SendToAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, new IPEndPoint(GatewayLab.External, externalPort));
        if (await GatewayLab.ReceiveAsync(lan, TimeSpan.FromSeconds(1)) is not { } got || Encoding.ASCII.GetString(got.Data) != text)
        {
            return false;
        }

        // Answer, so that conntrack holds an established flow, which the forward filter lets through by itself.
        await lan.SendToAsync("ack"u8.ToArray(), SocketFlags.None, got.From);
        return await GatewayLab.ReceiveAsync(wan, TimeSpan.FromSeconds(1)) is not null;
    }

    /// <summary>
    /// Keeps the flow busy (each try answers, which would keep a surviving flow alive) until a try no longer gets
    /// through; false if it still does at the deadline. The flows are ended off the answer path, at most a
    /// quarter second apart on a low-priority thread, so the bound is generous for a loaded machine.
    /// </summary>
    private static async Task<bool> StopsWithinAsync(Socket wan, Socket lan, int externalPort, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; clock.Elapsed < limit; i++)
        {
            if (!await GetsThroughAsync(wan, lan, externalPort, "try " + i))
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    [Fact]
    public async Task DeletedMapping_ItsEstablishedFlowStops()
    {
        Assert.Equal(18800, (await _lab.NatPmpcAsync(_lab.Lan1, 18800, 8800, "udp", 600)).PublicPort);
        using Socket lan = GatewayLab.Udp(_lab.Lan1, 8800);
        using Socket wan = GatewayLab.Udp(_lab.Wan, 9800);
        Assert.True(await GetsThroughAsync(wan, lan, 18800, "one"));
        Assert.True(await GetsThroughAsync(wan, lan, 18800, "two")); // an established flow now

        await _lab.NatPmpcAsync(_lab.Lan1, 18800, 8800, "udp", 0);
        Assert.True(await StopsWithinAsync(wan, lan, 18800, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task ExpiredMapping_ItsEstablishedFlowStops()
    {
        // NAT-PMP grants at least the lifetime asked for; 2 s is short enough to watch it run out.
        Assert.Equal(18810, (await _lab.NatPmpcAsync(_lab.Lan1, 18810, 8810, "udp", 2)).PublicPort);
        using Socket lan = GatewayLab.Udp(_lab.Lan1, 8810);
        using Socket wan = GatewayLab.Udp(_lab.Wan, 9810);
        Assert.True(await GetsThroughAsync(wan, lan, 18810, "one"));
        Assert.True(await StopsWithinAsync(wan, lan, 18810, TimeSpan.FromSeconds(6)));
    }
}

/// <summary>firewall.endFlows false: an established flow outlives its mapping (what ending flows prevents).</summary>
public class FlowsKeptTests : IClassFixture<FlowsKeptLab>
{
    private readonly FlowsKeptLab _lab;

    public FlowsKeptTests(FlowsKeptLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task EndFlowsOff_DeletedMappingsFlowGoesOn()
    {
        Assert.Equal(18820, (await _lab.NatPmpcAsync(_lab.Lan1, 18820, 8820, "udp", 600)).PublicPort);
        using Socket lan = GatewayLab.Udp(_lab.Lan1, 8820);
        using Socket wan = GatewayLab.Udp(_lab.Wan, 9820);
        await wan.SendToAsync("one"u8.ToArray(), SocketFlags.None, new IPEndPoint(GatewayLab.External, 18820));
        var first = await GatewayLab.ReceiveAsync(lan, TimeSpan.FromSeconds(1));
        Assert.NotNull(first);
        await lan.SendToAsync("ack"u8.ToArray(), SocketFlags.None, first.Value.From);
        Assert.NotNull(await GatewayLab.ReceiveAsync(wan, TimeSpan.FromSeconds(1)));

        await _lab.NatPmpcAsync(_lab.Lan1, 18820, 8820, "udp", 0);
        // The delete is done (the lease is gone from the table and the kernel) before the flow is tried again.
        await _lab.Daemon!.WaitForLogAsync("Udp 18820 -> 192.168.77.10:8820 removed", TimeSpan.FromSeconds(5));
        await wan.SendToAsync("two"u8.ToArray(), SocketFlags.None, new IPEndPoint(GatewayLab.External, 18820));
        Assert.NotNull(await GatewayLab.ReceiveAsync(lan, TimeSpan.FromSeconds(1)));
    }
}

/// <summary>A lab whose daemon leaves conntrack flows alone when mappings end.</summary>
public sealed class FlowsKeptLab : GatewayLab
{
    public FlowsKeptLab()
    {
        ConfigJson = """{ "firewall": { "endFlows": false } }""";
    }
}
