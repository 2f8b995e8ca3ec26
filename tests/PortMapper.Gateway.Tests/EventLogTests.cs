using PortMapper.Gateway.Events;

namespace PortMapper.Gateway.Tests;

public class EventLogTests
{
    private static GatewayEvent Draft(string kind, ushort port) => new(0, default, kind, "02:00:00:00:00:10", "192.168.77.10", null, "udp", port, "192.168.77.10", port, "natpmp", 3600);

    [Fact]
    public void Events_NumberedKeptAndReadBack_AfterARestart()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        using (var log = new EventLog(state.Path))
        {
            Assert.Equal(1, log.Publish(Draft("granted", 5000)).Id);
            Assert.Equal(2, log.Publish(Draft("renewed", 5000)).Id);
            log.Flush();
        }

        // A crash mid-line leaves a torn last line: skipped, and numbering goes on after the last whole event.
        File.AppendAllText(Path.Combine(state.Path, EventLog.FileName), "{\"id\":3,\"time\":\"2026-");
        using var restarted = new EventLog(state.Path);
        Assert.Equal(["granted", "renewed"], restarted.Since(0).Select(e => e.Kind));
        Assert.Equal(3, restarted.Publish(Draft("expired", 5000)).Id);
        Assert.Equal([3L], restarted.Since(2).Select(e => e.Id));
        restarted.Flush();

        // The event after the torn line starts a line of its own, so a second restart reads it.
        using var again = new EventLog(state.Path);
        Assert.Equal(["granted", "renewed", "expired"], again.Since(0).Select(e => e.Kind));
    }

    [Fact]
    public void NearlyFullStateFilesystem_EventsStayOutOfTheFile_TheJournalKeepsItsRoom()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        long free = 10L << 20;
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero));
        using var log = new EventLog(state.Path, time, _ => (free, 16L << 20));
        log.Publish(Draft("granted", 5000));
        log.Flush();
        Assert.Equal(0, log.NotWritten);

        free = 900 << 10; // under the 1 MiB reserve
        log.Publish(Draft("granted", 5003)); // free space is asked at most once a second: still written
        Assert.Equal(0, log.NotWritten);
        time.Advance(TimeSpan.FromSeconds(1));
        log.Publish(Draft("granted", 5001));
        log.Flush();
        Assert.Equal(1, log.NotWritten);
        Assert.True(log.WriteFailed);
        Assert.Equal(3, log.Since(0).Count); // still served

        free = 10L << 20;
        time.Advance(TimeSpan.FromSeconds(1));
        log.Publish(Draft("granted", 5002));
        log.Flush();
        Assert.Single(File.ReadAllLines(Path.Combine(state.Path, EventLog.FileName)), l => l.Contains("5002", StringComparison.Ordinal));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(state.Path, EventLog.FileName)).Length);
    }

    [Fact]
    public void SmallStateFilesystem_FileStaysWithinAQuarterOfIt_KeepingTheNewestEvents()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        const long total = 1L << 20; // a quarter: 256 KiB for events
        string path = Path.Combine(state.Path, EventLog.FileName);
        using (var log = new EventLog(state.Path, space: _ => (2L << 20, total)))
        {
            for (int i = 0; i < 5000; i++)
            {
                log.Publish(Draft("granted", (ushort)(1024 + i)));
                Assert.True(new FileInfo(path).Length <= total / 4, $"{new FileInfo(path).Length} bytes after {i + 1} events");
            }

            log.Flush();
            Assert.Equal(5000, log.Since(0).Count); // memory keeps them all
            Assert.Contains("6023", File.ReadLines(path).Last(), StringComparison.Ordinal);
        }

        using var again = new EventLog(state.Path, space: _ => (2L << 20, total));
        IReadOnlyList<GatewayEvent> loaded = again.Since(0);
        Assert.InRange(loaded.Count, 500, 4999);
        Assert.Equal(5000, again.LastId);
        Assert.Equal(Enumerable.Range((int)loaded[0].Id, loaded.Count).Select(i => (long)i), loaded.Select(e => e.Id)); // the newest, none missing
    }

    [Fact]
    public void FileSystemSpace_IsReadForARealDirectory()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        using var log = new EventLog(state.Path);
        log.Publish(Draft("granted", 5000));
        log.Flush();
        Assert.Equal(0, log.NotWritten); // /tmp has room: written
        Assert.Single(File.ReadAllLines(Path.Combine(state.Path, EventLog.FileName)));
    }

    [Fact]
    public void File_IsCutBackToTheKeptEvents_WhenItHoldsTwiceAsMany()
    {
        using var state = new TempDirectory();
        Directory.CreateDirectory(state.Path);
        using var log = new EventLog(state.Path);
        for (int i = 0; i < (2 * EventLog.Capacity) + 5; i++)
        {
            log.Publish(Draft("granted", (ushort)(1024 + (i % 60000))));
        }

        log.Flush();
        int lines = File.ReadLines(Path.Combine(state.Path, EventLog.FileName)).Count();
        Assert.InRange(lines, EventLog.Capacity, EventLog.Capacity + 10);
        Assert.Equal(EventLog.Capacity, log.Since(0).Count);
        Assert.Equal((2 * EventLog.Capacity) + 5, log.LastId);
    }

    [Fact]
    public async Task Subscriber_GetsTheKeptEventsAfterItsId_ThenNewOnes()
    {
        using var log = new EventLog(null);
        log.Publish(Draft("granted", 5000));
        log.Publish(Draft("granted", 5001));
        var feed = log.Subscribe(1, out Action unsubscribe);
        log.Publish(Draft("expired", 5000));
        Assert.Equal(2, (await feed.ReadAsync()).Id);
        Assert.Equal(3, (await feed.ReadAsync()).Id);
        unsubscribe();
        Assert.Equal(0, log.SubscriberCount);
    }

    [Fact]
    public void Forward_SeesEveryEvent_AndServerSentEventsAreWellFramed()
    {
        using var log = new EventLog(null);
        var seen = new List<long>();
        log.Forward = e => seen.Add(e.Id);
        GatewayEvent e = log.Publish(Draft("refused", 22) with { Reason = "not authorized\nsecond line" });
        Assert.Equal([1L], seen);
        string sse = EventLog.ToServerSentEvent(e);
        Assert.StartsWith("id: 1\nevent: refused\ndata: {", sse, StringComparison.Ordinal);
        Assert.EndsWith("}\n\n", sse, StringComparison.Ordinal);
        // three fields and the blank line that ends the event; the newline in the reason is escaped in the JSON
        Assert.Equal(["id: 1", "event: refused"], sse.Split('\n')[..2]);
        Assert.Equal(5, sse.Split('\n').Length);
        Assert.Contains("not authorized\\nsecond line", sse, StringComparison.Ordinal);
    }

    [Fact]
    public void RequestsPerMinute_SixtyMinutes_CurrentOneLast()
    {
        var metrics = new PortMapper.Gateway.Admin.GatewayMetrics();
        Assert.Equal(60, metrics.RequestsPerMinute().Length);
        Assert.All(metrics.RequestsPerMinute(), n => Assert.Equal(0, n));
        metrics.Request("natpmp", "0");
        metrics.Request("pcp", "0");
        metrics.Request("upnp", "606");
        long[] counts = metrics.RequestsPerMinute();
        // The last slot is this minute (or, if the minute turned between, the one before holds some of them).
        Assert.Equal(3, counts[^1] + counts[^2]);
        Assert.Equal(3, counts.Sum());
    }
}
