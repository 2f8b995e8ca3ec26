using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>GENA eventing to a subscriber in the LAN namespace: initial event, change events in SEQ order, renewal, unsubscribe.</summary>
public class UpnpEventingTests : IClassFixture<GatewayLab>
{
    private readonly GatewayLab _lab;

    public UpnpEventingTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private static async Task<string?> AcceptNotifyAsync(TcpListener listener, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            using TcpClient client = await listener.AcceptTcpClientAsync(cts.Token);
            NetworkStream stream = client.GetStream();
            var text = new StringBuilder();
            byte[] buffer = new byte[4096];
            while (!text.ToString().Contains("</e:propertyset>", StringComparison.Ordinal))
            {
                int n = await stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    break;
                }

                text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }

            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), cts.Token);
            return text.ToString();
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Subscribe_InitialAndChangeEvents_RenewAndUnsubscribe()
    {
        using TcpListener listener = NetNs.Run(_lab.Lan1, () => { var l = new TcpListener(IPAddress.Any, 9120); l.Start(); return l; });
        string subscribe = "SUBSCRIBE /evt/IPConn1 HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nNT: upnp:event\r\nCALLBACK: <http://192.168.77.10:9120/event>\r\nTIMEOUT: Second-600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        string answer = await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, subscribe);
        Assert.Equal(200, RawHttp.Status(answer));
        Assert.Contains("TIMEOUT: Second-600", answer, StringComparison.OrdinalIgnoreCase);
        string sid = Regex.Match(answer, @"SID: (uuid:[0-9a-f-]+)", RegexOptions.IgnoreCase).Groups[1].Value;
        Assert.NotEmpty(sid);

        string? initial = await AcceptNotifyAsync(listener, TimeSpan.FromSeconds(3));
        Assert.NotNull(initial);
        Assert.StartsWith("NOTIFY /event HTTP/1.1\r\n", initial, StringComparison.Ordinal);
        Assert.Contains($"SID: {sid}\r\n", initial, StringComparison.Ordinal);
        Assert.Contains("SEQ: 0\r\n", initial, StringComparison.Ordinal);
        Assert.Contains("NTS: upnp:propchange\r\n", initial, StringComparison.Ordinal);
        Assert.Contains("<ExternalIPAddress>203.0.113.1</ExternalIPAddress>", initial, StringComparison.Ordinal);
        Assert.Contains("<ConnectionStatus>Connected</ConnectionStatus>", initial, StringComparison.Ordinal);
        Assert.Contains("<PortMappingNumberOfEntries>0</PortMappingNumberOfEntries>", initial, StringComparison.Ordinal);

        // A mapping appears: PortMappingNumberOfEntries goes out with the next SEQ.
        ProcessResult add = await Shell.InNamespaceAsync(_lab.Lan1, "upnpc", "-u", "http://192.168.77.1:5000/rootDesc.xml", "-a", "192.168.77.10", "8900", "8900", "UDP", "600");
        Assert.Contains("is redirected", add.Output, StringComparison.Ordinal);
        string? change = await AcceptNotifyAsync(listener, TimeSpan.FromSeconds(4));
        Assert.NotNull(change);
        Assert.Contains("SEQ: 1\r\n", change, StringComparison.Ordinal);
        Assert.Contains("<PortMappingNumberOfEntries>1</PortMappingNumberOfEntries>", change, StringComparison.Ordinal);
        Assert.DoesNotContain("ExternalIPAddress", change, StringComparison.Ordinal);

        string renew = $"SUBSCRIBE /evt/IPConn1 HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nSID: {sid}\r\nTIMEOUT: Second-900\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        Assert.Equal(200, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, renew)));
        string both = $"SUBSCRIBE /evt/IPConn1 HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nSID: {sid}\r\nNT: upnp:event\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        Assert.Equal(400, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, both)));

        // Another host cannot cancel it; its owner can, once.
        string unsubscribe = $"UNSUBSCRIBE /evt/IPConn1 HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nSID: {sid}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        Assert.Equal(412, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan2, GatewayLab.GatewayLan, unsubscribe)));
        Assert.Equal(200, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, unsubscribe)));
        Assert.Equal(412, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, unsubscribe)));

        // No more events after unsubscribing.
        await Shell.InNamespaceAsync(_lab.Lan1, "upnpc", "-u", "http://192.168.77.1:5000/rootDesc.xml", "-d", "8900", "UDP");
        Assert.Null(await AcceptNotifyAsync(listener, TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task WanAddressChange_IsEvented_AndUpnpMappingsFollow()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan2, 8950, "followed");
        using TcpListener listener = NetNs.Run(_lab.Lan2, () => { var l = new TcpListener(IPAddress.Any, 9130); l.Start(); return l; });
        ProcessResult add = await Shell.InNamespaceAsync(_lab.Lan2, "upnpc", "-u", "http://192.168.77.1:5000/rootDesc.xml", "-a", "192.168.77.11", "8950", "8950", "TCP", "600");
        Assert.Contains("is redirected", add.Output, StringComparison.Ordinal);
        string subscribe = "SUBSCRIBE /evt/IPConn2 HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nNT: upnp:event\r\nCALLBACK: <http://192.168.77.11:9130/>\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        Assert.Equal(200, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan2, GatewayLab.GatewayLan, subscribe)));
        Assert.Contains("<ExternalIPAddress>203.0.113.1</ExternalIPAddress>", await AcceptNotifyAsync(listener, TimeSpan.FromSeconds(3)), StringComparison.Ordinal);

        try
        {
            await Shell.CheckedAsync(_lab.Gw, "ip", "addr", "del", "203.0.113.1/24", "dev", "wan0");
            await Shell.CheckedAsync(_lab.Gw, "ip", "addr", "add", "203.0.113.5/24", "dev", "wan0");
            await Shell.CheckedAsync(_lab.Gw, "ip", "route", "replace", "default", "via", "203.0.113.2", "dev", "wan0");

            // Changes may come as one event or two (the address can be gone for a moment): wait for the new one.
            string? evented = null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (evented is null && clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                string? notify = await AcceptNotifyAsync(listener, TimeSpan.FromSeconds(5) - clock.Elapsed);
                if (notify?.Contains("<ExternalIPAddress>203.0.113.5</ExternalIPAddress>", StringComparison.Ordinal) == true)
                {
                    evented = notify;
                }
            }

            Assert.NotNull(evented);
            Assert.Equal("followed", await GatewayLab.TryTcpAsync(_lab.Wan, IPAddress.Parse("203.0.113.5"), 8950));
        }
        finally
        {
            await Shell.InNamespaceAsync(_lab.Gw, "ip", "addr", "del", "203.0.113.5/24", "dev", "wan0");
            await Shell.InNamespaceAsync(_lab.Gw, "ip", "addr", "add", "203.0.113.1/24", "dev", "wan0");
            await Shell.InNamespaceAsync(_lab.Gw, "ip", "route", "replace", "default", "via", "203.0.113.2", "dev", "wan0");
            await Shell.InNamespaceAsync(_lab.Lan2, "upnpc", "-u", "http://192.168.77.1:5000/rootDesc.xml", "-d", "8950", "TCP");

            // Leave the lab as the other tests expect it: the daemon back on the first address.
            string query = RawHttp.Soap("/ctl/IPConn1", "urn:schemas-upnp-org:service:WANIPConnection:1", "GetExternalIPAddress", string.Empty);
            var restored = System.Diagnostics.Stopwatch.StartNew();
            while (!(await RawHttp.ExchangeAsync(_lab.Lan2, GatewayLab.GatewayLan, query)).Contains(">203.0.113.1<", StringComparison.Ordinal)
                && restored.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(50);
            }

            await Task.Delay(1100); // and past the next eventing check
        }
    }

    [Fact]
    public async Task Subscribe_BadNt_Is412()
    {
        string subscribe = "SUBSCRIBE /evt/IP6FCtl HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nNT: upnp:other\r\nCALLBACK: <http://192.168.77.10:9121/>\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        Assert.Equal(412, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, subscribe)));
        string unknown = "SUBSCRIBE /evt/Nothing HTTP/1.1\r\nHost: 192.168.77.1:5000\r\nNT: upnp:event\r\nCALLBACK: <http://192.168.77.10:9121/>\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        Assert.Equal(404, RawHttp.Status(await RawHttp.ExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, unknown)));
    }
}
