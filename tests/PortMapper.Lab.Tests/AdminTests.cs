using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using PortMapper.Lab.Tests.Infrastructure;

namespace PortMapper.Lab.Tests;

/// <summary>The admin endpoint and the CLI against the real daemon: token, lease API, revocation out of the kernel, status, metrics.</summary>
public class AdminTests : IClassFixture<GatewayLab>
{
    private static readonly IPAddress s_loopback = IPAddress.Loopback;
    private readonly GatewayLab _lab;

    public AdminTests(GatewayLab lab)
    {
        _lab = lab;
    }

    private string Token => File.ReadAllText(Path.Combine(_lab.StateDirectory, "admin.token")).Trim();

    private Task<string> AdminAsync(string method, string path, string? token = null) =>
        RawHttp.ExchangeAsync(_lab.Gw, s_loopback,
            $"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:8470\r\n" + (token is null ? string.Empty : $"Authorization: Bearer {token}\r\n") + "Content-Length: 0\r\nConnection: close\r\n\r\n",
            port: 8470);

    private static string Body(string response) => response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];

    private static JsonElement Json(string response) => JsonDocument.Parse(Dechunk(Body(response))).RootElement.Clone();

    /// <summary>Kestrel answers without Content-Length in chunks: join them.</summary>
    private static string Dechunk(string body)
    {
        if (body.StartsWith('{') || body.StartsWith('['))
        {
            return body;
        }

        var text = new System.Text.StringBuilder();
        int at = 0;
        while (at < body.Length)
        {
            int lineEnd = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            int size = Convert.ToInt32(body[at..lineEnd], 16);
            if (size == 0)
            {
                break;
            }

            text.Append(body, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }

        return text.ToString();
    }

    [Fact]
    public async Task Token_IsPrivate_AndEveryRequestNeedsIt()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_lab.StateDirectory, "admin.token")));
        foreach (string path in new[] { "/api/leases", "/api/status", "/metrics", "/healthz", "/" })
        {
            string missing = await AdminAsync("GET", path);
            Assert.Equal(401, RawHttp.Status(missing));
            Assert.Contains("WWW-Authenticate: Bearer", missing, StringComparison.Ordinal);
            Assert.Contains("application/problem+json", missing, StringComparison.Ordinal);
            Assert.Equal(401, RawHttp.Status(await AdminAsync("GET", path, "not-the-token")));
        }

        Assert.Equal(401, Json(await AdminAsync("GET", "/api/status")).GetProperty("status").GetInt32());
        string health = await AdminAsync("GET", "/healthz", Token);
        Assert.Equal(200, RawHttp.Status(health));
        Assert.Contains("ok", Body(health), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leases_FilterGetAndRevoke_GoneFromTheKernelAtOnce()
    {
        using TcpListener service = GatewayLab.ServeTcp(_lab.Lan1, 7700, "admin-tcp");
        Assert.Equal(7700, (await _lab.NatPmpcAsync(_lab.Lan1, 7700, 7700, "tcp", 3600)).PublicPort);
        Assert.Equal(7701, (await _lab.NatPmpcAsync(_lab.Lan2, 7701, 7701, "udp", 3600)).PublicPort);
        Assert.Equal("admin-tcp", await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 7700));

        JsonElement all = Json(await AdminAsync("GET", "/api/leases", Token));
        Assert.True(all.GetArrayLength() >= 2);
        JsonElement tcp = Assert.Single(Json(await AdminAsync("GET", "/api/leases?protocol=tcp&port=7700", Token)).EnumerateArray());
        Assert.Equal("192.168.77.10", tcp.GetProperty("client").GetString());

        // The device: LAN host 1's MAC, as the gateway's neighbour table has it.
        string lan1Mac = (await Shell.CheckedAsync(_lab.Lan1, "cat", "/sys/class/net/eth0/address")).Output.Trim();
        Assert.Equal(lan1Mac, tcp.GetProperty("device").GetString());
        Assert.Equal("natpmp", tcp.GetProperty("origin").GetString());
        Assert.Equal(7700, tcp.GetProperty("externalPort").GetInt32());
        Assert.InRange(tcp.GetProperty("secondsLeft").GetInt64(), 3500, 3600);
        JsonElement udp = Assert.Single(Json(await AdminAsync("GET", "/api/leases?client=192.168.77.11", Token)).EnumerateArray());
        Assert.Equal("udp", udp.GetProperty("protocol").GetString());

        foreach (string bad in new[] { "protocol=sctp", "client=nobody", "port=0", "port=70000", "colour=blue" })
        {
            string answer = await AdminAsync("GET", "/api/leases?" + bad, Token);
            Assert.Equal(400, RawHttp.Status(answer));
            Assert.Equal("Bad filter", Json(answer).GetProperty("title").GetString());
        }

        long id = tcp.GetProperty("id").GetInt64();
        Assert.Equal(7700, Json(await AdminAsync("GET", $"/api/leases/{id}", Token)).GetProperty("externalPort").GetInt32());
        Assert.Equal(404, RawHttp.Status(await AdminAsync("GET", "/api/leases/987654", Token)));
        Assert.Equal(400, RawHttp.Status(await AdminAsync("GET", "/api/leases/abc", Token)));
        Assert.Equal(405, RawHttp.Status(await AdminAsync("POST", "/api/leases", Token)));
        Assert.Equal(404, RawHttp.Status(await AdminAsync("GET", "/api/nothing", Token)));

        Assert.Equal(204, RawHttp.Status(await AdminAsync("DELETE", $"/api/leases/{id}", Token)));
        Assert.DoesNotContain("tcp . 7700", await _lab.KernelTableAsync(), StringComparison.Ordinal);
        Assert.Null(await GatewayLab.TryTcpAsync(_lab.Wan, GatewayLab.External, 7700, TimeSpan.FromSeconds(1)));
        Assert.Equal(404, RawHttp.Status(await AdminAsync("DELETE", $"/api/leases/{id}", Token)));
        Assert.Equal(404, RawHttp.Status(await AdminAsync("GET", $"/api/leases/{id}", Token)));
    }

    [Fact]
    public async Task Status_AndMetrics_ReportTheGateway()
    {
        await _lab.NatPmpcAsync(_lab.Lan1, 7800, 7800, "udp", 600);
        await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, [0, 9]); // an unsupported opcode: result 5
        await GatewayLab.NatPmpExchangeAsync(_lab.Lan1, GatewayLab.GatewayLan, [0], TimeSpan.FromMilliseconds(200)); // too short: dropped

        JsonElement status = Json(await AdminAsync("GET", "/api/status", Token));
        Assert.Equal("203.0.113.1", status.GetProperty("externalAddress").GetString());
        Assert.True(status.GetProperty("externalAddressIsReserved").GetBoolean());
        Assert.Equal("wan0", status.GetProperty("wan").GetString());
        Assert.True(status.GetProperty("kernelInSync").GetBoolean());
        Assert.True(status.GetProperty("leases").GetProperty("natpmp").GetInt32() >= 1);
        Assert.Equal(0, status.GetProperty("leases").GetProperty("upnp").GetInt32());
        Assert.True(status.GetProperty("uptimeSeconds").GetInt64() >= 0);
        Assert.True(status.GetProperty("epochSeconds").GetInt64() >= 0);
        Assert.Equal("observer", status.GetProperty("rtsp").GetProperty("helper").GetString());
        Assert.Equal(0, status.GetProperty("rtsp").GetProperty("mediaPorts").GetInt32());

        string metrics = Dechunk(Body(await AdminAsync("GET", "/metrics", Token)));
        Assert.Matches(@"portmapper_leases\{protocol=""natpmp""\} [1-9]", metrics);
        Assert.Matches(@"portmapper_requests_total\{protocol=""natpmp"",result=""Success""\} [1-9]", metrics);
        Assert.Matches(@"portmapper_requests_total\{protocol=""natpmp"",result=""UnsupportedOpcode""\} [1-9]", metrics);
        Assert.Matches(@"portmapper_dropped_total\{reason=""natpmp_malformed""\} [1-9]", metrics);
        Assert.Matches(@"portmapper_kernel_operation_seconds_count\{operation=""apply""\} [1-9]", metrics);
        Assert.Matches(@"portmapper_kernel_operation_seconds_bucket\{operation=""rebuild"",le=""\+Inf""\} [1-9]", metrics);
        Assert.Contains("portmapper_rtsp_media_ports 0\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_LeasesStatusAndRevoke()
    {
        Assert.Equal(7900, (await _lab.NatPmpcAsync(_lab.Lan2, 7900, 7900, "tcp", 600)).PublicPort);
        ProcessResult leases = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "leases", "--state-dir", _lab.StateDirectory, "--port", "7900");
        Assert.Equal(0, leases.ExitCode);
        Assert.Matches(@"ID\s+PROTO\s+EXTERNAL\s+INTERNAL\s+CLIENT\s+DEVICE\s+ORIGIN\s+LEFT\s+DESCRIPTION", leases.Output);
        Match row = Regex.Match(leases.Output, @"(?m)^(\d+)\s+tcp\s+7900\s+192\.168\.77\.11:7900\s+192\.168\.77\.11\s+([0-9a-f]{2}:){5}[0-9a-f]{2}\s+natpmp\s+\d+m");
        Assert.True(row.Success, leases.Output);

        ProcessResult status = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "status", "--state-dir", _lab.StateDirectory);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("203.0.113.1 (documentation", status.Output, StringComparison.Ordinal);
        Assert.Contains("kernel in sync", status.Output, StringComparison.Ordinal);

        ProcessResult revoke = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "revoke", row.Groups[1].Value, "--state-dir", _lab.StateDirectory);
        Assert.Equal(0, revoke.ExitCode);
        Assert.Contains($"revoked lease {row.Groups[1].Value}", revoke.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("tcp . 7900", await _lab.KernelTableAsync(), StringComparison.Ordinal);

        ProcessResult again = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "revoke", row.Groups[1].Value, "--state-dir", _lab.StateDirectory);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("404", again.Error, StringComparison.Ordinal);

        ProcessResult noToken = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "status", "--state-dir", "/nonexistent");
        Assert.Equal(1, noToken.ExitCode);
        Assert.Contains("admin token", noToken.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminOnTheWanAddress_IsAConfigurationError()
    {
        ProcessResult run = await Shell.InNamespaceAsync(_lab.Gw, Repository.DaemonPath, "run", "--state-dir", _lab.StateDirectory + "-wan", "--admin", "203.0.113.1:8470");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("admin: 203.0.113.1 is a WAN address", run.Output + run.Error, StringComparison.Ordinal);
    }
}
