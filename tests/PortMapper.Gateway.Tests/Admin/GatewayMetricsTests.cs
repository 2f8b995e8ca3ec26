using System.Globalization;
using System.Text.RegularExpressions;
using PortMapper.Gateway.Admin;

namespace PortMapper.Gateway.Tests.Admin;

public partial class GatewayMetricsTests
{
    [GeneratedRegex("^(?<name>[a-z_]+)(\\{(?<labels>[^}]*)\\})? (?<value>[-+0-9.eE]+|\\+Inf)$")]
    private static partial Regex SampleLine();

    [Fact]
    public void Render_IsValidPrometheusTextWithEveryFamily()
    {
        var metrics = new GatewayMetrics();
        metrics.Request("natpmp", "Success");
        metrics.Request("natpmp", "Success");
        metrics.Request("upnp", "718");
        metrics.Drop("ssdp_not_lan");
        metrics.KernelOperation("apply", TimeSpan.FromMilliseconds(0.3));
        metrics.KernelOperation("apply", TimeSpan.FromMilliseconds(30));

        string text = metrics.Render(new Dictionary<string, int> { ["natpmp"] = 3, ["upnp"] = 1 }, (Connections: 1, MediaPorts: 2));
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.True(line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal) || SampleLine().IsMatch(line), line);
        }

        Assert.Contains("# TYPE portmapper_leases gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_leases{protocol=\"natpmp\"} 3\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE portmapper_rtsp_media_ports gauge\nportmapper_rtsp_media_ports 2\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_rtsp_connections 1\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_requests_total{protocol=\"natpmp\",result=\"Success\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_requests_total{protocol=\"upnp\",result=\"718\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_dropped_total{reason=\"ssdp_not_lan\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE portmapper_kernel_operation_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_kernel_operation_seconds_bucket{operation=\"apply\",le=\"0.0005\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_kernel_operation_seconds_bucket{operation=\"apply\",le=\"0.025\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_kernel_operation_seconds_bucket{operation=\"apply\",le=\"0.05\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_kernel_operation_seconds_bucket{operation=\"apply\",le=\"+Inf\"} 2\n", text, StringComparison.Ordinal);
        Assert.Contains("portmapper_kernel_operation_seconds_count{operation=\"apply\"} 2\n", text, StringComparison.Ordinal);
        double sum = double.Parse(Regex.Match(text, "portmapper_kernel_operation_seconds_sum\\{operation=\"apply\"\\} (\\S+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(0.0303, sum, 6);

        // The process's own memory: resident above the GC's share, which holds at least what is alive.
        double Memory(string kind) => double.Parse(Regex.Match(text, $"portmapper_memory_bytes\\{{kind=\"{kind}\"\\}} (\\S+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Contains("# TYPE portmapper_memory_bytes gauge\n", text, StringComparison.Ordinal);
        Assert.True(Memory("resident") > Memory("gc_committed") && Memory("gc_committed") >= Memory("gc_heap") && Memory("gc_heap") > 0, text);
        Assert.True(Memory("gc_allocated_total") > 0, text);
        Assert.Matches("portmapper_gc_collections_total\\{generation=\"2\"\\} [0-9]+\n", text);
    }

    [Fact]
    public async Task Counting_FromManyThreads_LosesNothing()
    {
        var metrics = new GatewayMetrics();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                metrics.Request("pcp", "Success");
                metrics.Drop("queue_full");
            }
        })));
        Assert.Equal(80_000, metrics.RequestCount("pcp", "Success"));
        Assert.Equal(80_000, metrics.DropCount("queue_full"));
    }
}
