using System.Diagnostics;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>
/// A SIP call with sipp (Debian's sip-tester) from a LAN host to a WAN host, with media (a G.711 recording) both
/// ways. With the kernel's SIP helper the WAN side sees Via, Contact and SDP naming the external address, and the
/// WAN-to-LAN media comes in through the helper's expectation; without it the media never reaches the LAN.
/// </summary>
public static class SipCall
{
    public sealed record Result(int CallerExit, string CalleeLog, int MediaIntoLan, int MediaOutOfGateway, string Output);

    /// <summary>
    /// One call with media. Outbound: the LAN host calls the WAN host. Inbound: the WAN host calls the LAN host's
    /// mapped SIP port (the caller must have mapped UDP 5060 first). The log is the WAN side's message trace.
    /// </summary>
    public static async Task<Result> RunAsync(GatewayLab lab, bool inbound = false)
    {
        string dir = Path.Combine(Path.GetTempPath(), lab.Prefix + "sip");
        Directory.CreateDirectory(dir);
        string scenarios = Path.Combine(Repository.Root, "conformance", "sip");
        (string Ns, string Address) lan = (lab.Lan1, "192.168.77.10"), wan = (lab.Wan, "203.0.113.2");
        var (calleeSide, callerSide) = inbound ? (lan, wan) : (wan, lan);
        string target = inbound ? "203.0.113.1:5060" : "203.0.113.2:5060";
        try
        {
            // Count the media each way where it arrives: into the LAN host, and out of the gateway at the WAN host.
            using Process intoLan = Start(dir, "ip", "netns", "exec", lab.Lan1, "timeout", "14", "tcpdump", "-i", "eth0", "-nn", "-q", "-l", "-c", "40", "udp and src host 203.0.113.2 and dst port 6000");
            using Process outOfGateway = Start(dir, "ip", "netns", "exec", lab.Wan, "timeout", "14", "tcpdump", "-i", "eth0", "-nn", "-q", "-l", "-c", "40", "udp and src host 203.0.113.1 and dst port 6000");
            using Process callee = Start(dir, ["ip", "netns", "exec", calleeSide.Ns, "timeout", "25", "sipp", "-sf", Path.Combine(scenarios, "uas.xml"),
                "-i", calleeSide.Address, "-p", "5060", "-mi", calleeSide.Address, "-mp", "6000", "-m", "1", "-nostdin", .. inbound ? Array.Empty<string>() : ["-trace_msg"]]);
            await Task.Delay(1500);
            using Process caller = Start(dir, ["ip", "netns", "exec", callerSide.Ns, "timeout", "25", "sipp", "-sf", Path.Combine(scenarios, "uac.xml"), target,
                "-i", callerSide.Address, "-p", "5060", "-mi", callerSide.Address, "-mp", "6000", "-m", "1", "-nostdin", .. inbound ? ["-trace_msg"] : Array.Empty<string>()]);
            await caller.WaitForExitAsync();
            await callee.WaitForExitAsync();
            string lanCount = await intoLan.StandardOutput.ReadToEndAsync();
            string wanCount = await outOfGateway.StandardOutput.ReadToEndAsync();
            await Task.WhenAll(intoLan.WaitForExitAsync(), outOfGateway.WaitForExitAsync());
            string log = Directory.GetFiles(dir, "*_messages.log").Select(File.ReadAllText).FirstOrDefault() ?? string.Empty;
            return new Result(caller.ExitCode, log, Lines(lanCount), Lines(wanCount), await caller.StandardOutput.ReadToEndAsync() + await caller.StandardError.ReadToEndAsync());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int Lines(string text) => text.Split('\n').Count(l => l.Contains(" > ", StringComparison.Ordinal));

    private static Process Start(string directory, params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in command[1..])
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("cannot start " + command[0]);
    }
}

public class SipHelperTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public SipHelperTests(GatewayLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task Call_FromLanToWan_IsRewrittenAndMediaFlowsBothWays()
    {
        SipCall.Result call = await SipCall.RunAsync(_lab);
        Assert.True(call.CallerExit == 0, call.Output);
        Assert.Contains("Via: SIP/2.0/UDP 203.0.113.1:5060", call.CalleeLog, StringComparison.Ordinal);
        Assert.Contains("Contact: sip:caller@203.0.113.1:5060", call.CalleeLog, StringComparison.Ordinal);
        Assert.Contains("c=IN IP4 203.0.113.1", call.CalleeLog, StringComparison.Ordinal);
        Assert.DoesNotContain(call.CalleeLog.Split('\n'), l => (l.StartsWith("Via:", StringComparison.Ordinal) || l.StartsWith("Contact:", StringComparison.Ordinal)
            || l.StartsWith("c=", StringComparison.Ordinal)) && l.Contains("192.168.77.10", StringComparison.Ordinal));
        Assert.True(call.MediaOutOfGateway >= 20, $"{call.MediaOutOfGateway} RTP packets reached the WAN host");
        Assert.True(call.MediaIntoLan >= 20, $"{call.MediaIntoLan} RTP packets reached the LAN host");
    }

    [Fact]
    public async Task Call_FromWanThroughAMapping_IsRewrittenAndMediaFlowsBothWays()
    {
        // A VoIP phone that mapped its SIP port, as phones do with NAT-PMP or UPnP.
        Assert.Equal(5060, (await _lab.NatPmpcAsync(_lab.Lan1, 5060, 5060, "udp", 600)).PublicPort);
        try
        {
            SipCall.Result call = await SipCall.RunAsync(_lab, inbound: true);
            Assert.True(call.CallerExit == 0, call.Output);
            Assert.Contains("Contact: <sip:callee@203.0.113.1:5060;transport=UDP>", call.CalleeLog, StringComparison.Ordinal);
            Assert.Contains("c=IN IP4 203.0.113.1", call.CalleeLog, StringComparison.Ordinal);
            Assert.True(call.MediaOutOfGateway >= 20, $"{call.MediaOutOfGateway} RTP packets reached the WAN host");
            Assert.True(call.MediaIntoLan >= 20, $"{call.MediaIntoLan} RTP packets reached the LAN host");
        }
        finally
        {
            await _lab.NatPmpcAsync(_lab.Lan1, 5060, 5060, "udp", 0);
        }
    }
}

/// <summary>helpers.sip false: the same call leaks private addresses and its media never reaches the LAN.</summary>
public class SipWithoutHelperTests : IClassFixture<NoSipHelperLab>
{
    private readonly NoSipHelperLab _lab;

    public SipWithoutHelperTests(NoSipHelperLab lab)
    {
        _lab = lab;
    }

    [Fact]
    public async Task Call_WithoutTheHelper_LeaksThePrivateAddressAndLosesTheIncomingMedia()
    {
        SipCall.Result call = await SipCall.RunAsync(_lab);
        Assert.Contains("c=IN IP4 192.168.77.10", call.CalleeLog, StringComparison.Ordinal);
        Assert.Equal(0, call.MediaIntoLan);
    }
}

/// <summary>A lab whose daemon assigns no SIP helper.</summary>
public sealed class NoSipHelperLab : GatewayLab
{
    public NoSipHelperLab()
    {
        ConfigJson = """{ "helpers": { "sip": false } }""";
    }
}
