using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PortMapper.Conformance.PcpClient;
using static PortMapper.Conformance.Tool.CaseContext;

namespace PortMapper.Conformance.Tool;

/// <summary>
/// Whether mappings really forward, proven from a host beyond the WAN (the WAN helper): what a mapping opens
/// reaches this host, and what a delete, an expiry or a filter closes does not. Without a helper these SKIP.
/// </summary>
internal static class DataplaneSuite
{
    private const string Suite = "dataplane";

    public static IEnumerable<CaseDefinition> Cases() =>
    [
        new("dp-natpmp-udp-forwards", Suite, "RFC 6886 §3.3", "a NAT-PMP UDP mapping forwards a datagram from the Internet to the client", NatPmpUdp),
        new("dp-natpmp-tcp-forwards", Suite, "RFC 6886 §3.3", "a NAT-PMP TCP mapping forwards a connection from the Internet to the client", NatPmpTcp),
        new("dp-natpmp-delete-closes", Suite, "RFC 6886 §3.4", "after a NAT-PMP delete, nothing is forwarded on the port", NatPmpDeleteCloses),
        new("dp-pcp-map-forwards", Suite, "RFC 6887 §11", "a PCP MAP forwards a datagram to the client", PcpForwards),
        new("dp-pcp-filter", Suite, "RFC 6887 §13.3", "a FILTER admits only the remote peers it names", PcpFilter),
        new("dp-pcp-expiry-closes", Suite, "RFC 6887 §15", "a mapping stops forwarding once its lifetime has passed", PcpExpiry),
        new("dp-pcp-ipv6-pinhole", Suite, "RFC 6887 §11, §13.3", "a PCP MAP over IPv6 opens a pinhole: a datagram from the Internet reaches the client's own address", PcpIpv6Pinhole),
        new("dp-upnp-tcp-forwards", Suite, "WANIPConnection:1 §2.4.16", "an AddPortMapping TCP mapping forwards a connection", UpnpForwards),
        new("dp-upnp-delete-closes", Suite, "WANIPConnection:1 §2.4.17", "after DeletePortMapping, connections are no longer forwarded", UpnpDeleteCloses),
    ];

    private static ushort Port(CaseContext c, int offset) => (ushort)(c.Options.BasePort + 160 + offset);

    private static async Task<(WanHelper Helper, IPAddress External)> SetupAsync(CaseContext c)
    {
        Task<WanHelper?> connecting;
        lock (c.Gateway)
        {
            connecting = c.Gateway.Helper ??= c.Options.WanHelper is { } spec ? ConnectAsync(spec) : Task.FromResult<WanHelper?>(null);
        }

        WanHelper helper = await connecting ?? throw Skip(c.Options.WanHelper is null ? "no WAN helper (--wan-helper)" : "the WAN helper could not be reached");
        IPAddress? external = c.Options.External;
        if (external is null)
        {
            NatPmpAnswer? answer = NatPmpWire.Parse(await c.Gateway.ExchangeAsync(GatewayProbe.PortControlPort, NatPmpWire.ExternalAddressRequest()));
            external = answer?.External;
        }

        return (helper, external ?? throw Skip("the gateway did not say its external address (NAT-PMP) and --external was not given"));
    }

    private static async Task<WanHelper?> ConnectAsync(string spec)
    {
        try
        {
            return await WanHelper.ConnectAsync(spec);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ArgumentException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static async Task<bool> ReceivedAsync(Socket socket, string text, TimeSpan timeout)
    {
        byte[] buffer = new byte[2048];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (Encoding.UTF8.GetString(buffer, 0, n) == text)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static Task<string> SendUdpAsync(WanHelper helper, IPAddress external, ushort port, string text) =>
        helper.AskAsync($"udp {external} {port.ToString(CultureInfo.InvariantCulture)} {text}");

    private static async Task<bool> UdpReachesAsync(WanHelper helper, IPAddress external, ushort externalPort, Socket local, string text)
    {
        // A couple of tries: the first datagram of a flow may race the kernel's new entry.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            await SendUdpAsync(helper, external, externalPort, text);
            if (await ReceivedAsync(local, text, TimeSpan.FromSeconds(1)))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task NatPmpUdp(CaseContext c)
    {
        (WanHelper helper, IPAddress external) = await SetupAsync(c);
        ushort port = Port(c, 0);
        using Socket local = c.Gateway.Udp(port: port);
        NatPmpAnswer map = await NatPmpSuite.MapAsync(c, NatPmpWire.Udp, port, port, 600);
        Expect(map.Result == 0, "the mapping granted", map.ToString());
        Expect(await UdpReachesAsync(helper, external, map.ExternalPort, local, "natpmp-udp"), $"the datagram to {external}:{map.ExternalPort} at {c.Gateway.LocalAddress}:{port}", "nothing came");
    }

    private static async Task NatPmpTcp(CaseContext c)
    {
        (WanHelper helper, IPAddress external) = await SetupAsync(c);
        ushort port = Port(c, 1);
        var listener = new TcpListener(c.Gateway.LocalAddress, port);
        listener.Start();
        try
        {
            NatPmpAnswer map = await NatPmpSuite.MapAsync(c, NatPmpWire.Tcp, port, port, 600);
            Expect(map.Result == 0, "the mapping granted", map.ToString());
            Task<Socket> accepted = listener.AcceptSocketAsync();
            string sent = await helper.AskAsync($"tcp {external} {map.ExternalPort.ToString(CultureInfo.InvariantCulture)} natpmp-tcp");
            Expect(sent == "ok", $"a connection to {external}:{map.ExternalPort}", sent);
            Expect(await Task.WhenAny(accepted, Task.Delay(3000)) == accepted, "the connection accepted here", "none");
            accepted.Result.Dispose();
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task NatPmpDeleteCloses(CaseContext c)
    {
        (WanHelper helper, IPAddress external) = await SetupAsync(c);
        ushort gone = Port(c, 2);
        ushort kept = Port(c, 3);
        using Socket goneSocket = c.Gateway.Udp(port: gone);
        using Socket keptSocket = c.Gateway.Udp(port: kept);
        NatPmpAnswer a = await NatPmpSuite.MapAsync(c, NatPmpWire.Udp, gone, gone, 600);
        NatPmpAnswer b = await NatPmpSuite.MapAsync(c, NatPmpWire.Udp, kept, kept, 600);
        Expect(a.Result == 0 && b.Result == 0, "two mappings granted", $"{a}; {b}");
        Expect(await UdpReachesAsync(helper, external, a.ExternalPort, goneSocket, "before"), "the first mapping forwarding before the delete", "nothing came");
        NatPmpAnswer deleted = await NatPmpSuite.MapAsync(c, NatPmpWire.Udp, gone, 0, 0);
        Expect(deleted.Result == 0, "the delete answered with success", deleted.ToString());

        // The deleted port first, then the kept one: the kept one's datagram arriving is the signal that the first
        // one had its chance.
        await SendUdpAsync(helper, external, a.ExternalPort, "after-delete");
        Expect(await UdpReachesAsync(helper, external, b.ExternalPort, keptSocket, "control"), "the other mapping still forwarding", "nothing came");
        Expect(!await ReceivedAsync(goneSocket, "after-delete", TimeSpan.FromMilliseconds(300)), "nothing on the deleted mapping", "the datagram was forwarded");
    }

    private static async Task PcpForwards(CaseContext c)
    {
        (WanHelper helper, IPAddress external) = await SetupAsync(c);
        ushort port = Port(c, 4);
        using Socket local = c.Gateway.Udp(port: port);
        PcpAnswer map = await PcpSuite.MapAsync(c, PcpMessage.Udp, port, port, 600, PcpMessage.NewNonce());
        Expect(map.Result == 0, "the mapping granted", map.Result.ToString(CultureInfo.InvariantCulture));
        Expect(await UdpReachesAsync(helper, external, map.ExternalPort, local, "pcp-udp"), $"the datagram to {external}:{map.ExternalPort}", "nothing came");
    }

    private static async Task PcpFilter(CaseContext c)
    {
        (WanHelper helper, IPAddress external) = await SetupAsync(c);
        string source = await helper.AskAsync($"source {external}");
        Expect(IPAddress.TryParse(source, out IPAddress? helperAddress), "the helper's address", source);
        ushort open = Port(c, 5);
        ushort closed = Port(c, 6);
        using Socket openSocket = c.Gateway.Udp(port: open);
        using Socket closedSocket = c.Gateway.Udp(port: closed);
        PcpAnswer admits = await PcpSuite.MapAsync(c, PcpMessage.Udp, open, open, 600, PcpMessage.NewNonce(), PcpMessage.Filter(helperAddress!, 32, 0));
        PcpAnswer excludes = await PcpSuite.MapAsync(c, PcpMessage.Udp, closed, closed, 600, PcpMessage.NewNonce(), PcpMessage.Filter(IPAddress.Parse("198.51.100.0"), 24, 0));
        Expect(admits.Result == 0 && excludes.Result == 0, "both mappings granted", $"{admits.Result}, {excludes.Result}");
        // §13.3: with FILTER options, the PCP-controlled device "MUST only permit" inbound traffic from the remote peers
        // they describe. miniupnpd 2.3.1 (nftables) accepts the option and forwards from anywhere.
        await SendUdpAsync(helper, external, excludes.ExternalPort, "filtered");
        Expect(await UdpReachesAsync(helper, external, admits.ExternalPort, openSocket, "admitted"), $"the datagram from {helperAddress} admitted by its FILTER", "nothing came");
        Expect(!await ReceivedAsync(closedSocket, "filtered", TimeSpan.FromMilliseconds(300)), $"nothing from {helperAddress} through a FILTER for 198.51.100.0/24", "it came through");
    }

    private static async Task PcpExpiry(CaseContext c)
    {
        (WanHelper helper, IPAddress external) = await SetupAsync(c);
        ushort port = Port(c, 7);
        ushort kept = Port(c, 8);
        using Socket local = c.Gateway.Udp(port: port);
        using Socket keptSocket = c.Gateway.Udp(port: kept);
        PcpAnswer map = await PcpSuite.MapAsync(c, PcpMessage.Udp, port, port, 3, PcpMessage.NewNonce());
        Expect(map.Result == 0, "the mapping granted", map.Result.ToString(CultureInfo.InvariantCulture));
        if (map.Lifetime > 15)
        {
            throw Skip($"the gateway grants at least {map.Lifetime} s (asked for 3); waiting that long is not worth it");
        }

        PcpAnswer control = await PcpSuite.MapAsync(c, PcpMessage.Udp, kept, kept, 600, PcpMessage.NewNonce());
        await Task.Delay(TimeSpan.FromSeconds(map.Lifetime + 1.5), c.Cancellation);
        await SendUdpAsync(helper, external, map.ExternalPort, "expired");
        Expect(await UdpReachesAsync(helper, external, control.ExternalPort, keptSocket, "control"), "the control mapping forwarding", "nothing came");
        Expect(!await ReceivedAsync(local, "expired", TimeSpan.FromMilliseconds(300)), $"nothing {map.Lifetime} s after the lifetime ended", "it was forwarded");
    }

    private static async Task PcpIpv6Pinhole(CaseContext c)
    {
        GatewayProbe gateway6 = c.Gateway6;
        (WanHelper helper, _) = await SetupAsync(c);
        ushort port = Port(c, 11);
        using Socket local = gateway6.Udp(port: port);
        PcpAnswer map = await PcpSuite.MapIpv6Async(c, PcpMessage.Udp, port, 600);
        Expect(map.Result == 0, "the pinhole granted", map.Result.ToString(CultureInfo.InvariantCulture));
        Expect(await UdpReachesAsync(helper, gateway6.LocalAddress, port, local, "pinhole"), $"the datagram to [{gateway6.LocalAddress}]:{port}", "nothing came");
    }

    private static async Task<bool> TcpReachesAsync(WanHelper helper, IPAddress external, ushort externalPort, TcpListener listener)
    {
        Task<Socket> accepted = listener.AcceptSocketAsync();
        string sent = await helper.AskAsync($"tcp {external} {externalPort.ToString(CultureInfo.InvariantCulture)} upnp");
        if (sent != "ok" || await Task.WhenAny(accepted, Task.Delay(3000)) != accepted)
        {
            return false;
        }

        accepted.Result.Dispose();
        return true;
    }

    private static async Task UpnpForwards(CaseContext c)
    {
        (WanHelper helper, IPAddress external) = await SetupAsync(c);
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        ushort port = Port(c, 9);
        var listener = new TcpListener(c.Gateway.LocalAddress, port);
        listener.Start();
        try
        {
            SoapReply added = await upnp.AddAsync(c, port, "TCP", port, 600);
            Expect(added.Status == 200, "the mapping added", added.ToString());
            Expect(await TcpReachesAsync(helper, external, port, listener), $"a connection to {external}:{port} accepted here", "none");
        }
        finally
        {
            listener.Stop();
        }
    }

    private static async Task UpnpDeleteCloses(CaseContext c)
    {
        (WanHelper helper, IPAddress external) = await SetupAsync(c);
        UpnpClient upnp = await UpnpClient.GetAsync(c);
        ushort port = Port(c, 10);
        var listener = new TcpListener(c.Gateway.LocalAddress, port);
        listener.Start();
        try
        {
            SoapReply added = await upnp.AddAsync(c, port, "TCP", port, 600);
            Expect(added.Status == 200, "the mapping added", added.ToString());
            Expect(await TcpReachesAsync(helper, external, port, listener), "forwarding before the delete", "no connection");
            SoapReply deleted = await upnp.CallAsync("DeletePortMapping", UpnpClient.KeyArguments(port, "TCP"));
            Expect(deleted.Status == 200, "the delete answered with 200", deleted.ToString());
            string after = await helper.AskAsync($"tcp {external} {port.ToString(CultureInfo.InvariantCulture)} after");
            Expect(after.StartsWith("fail", StringComparison.Ordinal), "the connection refused or timed out", after);
        }
        finally
        {
            listener.Stop();
        }
    }
}
