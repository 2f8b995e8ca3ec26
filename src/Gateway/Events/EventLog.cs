using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using PortMapper.Gateway.Admin;

namespace PortMapper.Gateway.Events;

/// <summary>
/// What happened to mappings and devices, in order: kept in memory (the last <see cref="Capacity"/>), appended to
/// <c>events.jsonl</c> in the state directory (read back at start; a torn last line is skipped; rewritten to the
/// last <see cref="Capacity"/> when it holds twice that), handed to live subscribers (the admin endpoint's event
/// stream) and to the webhook. Publishing never waits for a subscriber: one that falls behind is dropped.
/// The file never takes the lease journal's room: it is cut back to its newest events once it holds a quarter of
/// the state filesystem (at most <see cref="MaxFileBytes"/>), and while the filesystem has less than
/// <see cref="ReserveBytes"/> (or an eighth of its size) free, events stay in memory and in the stream only.
/// </summary>
public sealed class EventLog : IDisposable
{
    public const string FileName = "events.jsonl";
    public const int Capacity = 10_000;
    private const int SubscriberQueue = 1024;

    /// <summary>Free space on the state filesystem below which events are not written (the journal needs it more).</summary>
    public const long ReserveBytes = 1 << 20;

    /// <summary>The most the file holds, whatever the filesystem's size; a quarter of that size on a small one.</summary>
    public const long MaxFileBytes = 16L << 20;
    private long _fileBudget = MaxFileBytes;
    private long _fileBytes;

    private readonly Lock _lock = new();
    private readonly string? _path;
    private readonly Queue<GatewayEvent> _recent = new(Capacity + 1); // an array, not a node per event

    // The same few devices and addresses appear in event after event: one copy of each text, not one per event
    // (10,000 events kept in memory). Bounded: emptied when it has seen this many distinct texts.
    private readonly Dictionary<string, string> _texts = new(StringComparer.Ordinal);
    private const int MaxTexts = 4096;
    private readonly List<Channel<GatewayEvent>> _subscribers = [];
    private readonly TimeProvider _time;
    private FileStream? _file;
    private int _linesInFile;
    private long _nextId = 1;
    private bool _writeFailed;
    private DateTimeOffset _spaceCheckedAt = DateTimeOffset.MinValue;
    private bool _roomToWrite = true;
    private long _notWritten;
    private readonly Func<string, (long Free, long Total)> _space;

    public EventLog(string? stateDirectory, TimeProvider? time = null, Func<string, (long Free, long Total)>? space = null)
    {
        _space = space ?? FileSystemSpace;
        _time = time ?? TimeProvider.System;
        _path = stateDirectory is null ? null : Path.Combine(stateDirectory, FileName);
        Load();
    }

    /// <summary>Also called with every event (the webhook), on the publisher's thread: must not block.</summary>
    public Action<GatewayEvent>? Forward { get; set; }

    public long LastId
    {
        get
        {
            lock (_lock)
            {
                return _nextId - 1;
            }
        }
    }

    private string? Shared(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (_texts.TryGetValue(text, out string? shared))
        {
            return shared;
        }

        if (_texts.Count >= MaxTexts)
        {
            _texts.Clear();
        }

        _texts.Add(text, text);
        return text;
    }

    /// <summary>Records an event (its id and time are assigned here) and hands it to every subscriber.</summary>
    public GatewayEvent Publish(GatewayEvent draft)
    {
        GatewayEvent e;
        lock (_lock)
        {
            e = draft with
            {
                Id = _nextId++, Time = _time.GetUtcNow(), Mac = Shared(draft.Mac), Address = Shared(draft.Address),
                Hostname = Shared(draft.Hostname), InternalAddress = Shared(draft.InternalAddress),
            };
            _recent.Enqueue(e);
            if (_recent.Count > Capacity)
            {
                _recent.Dequeue();
            }

            Append(e);
            for (int i = _subscribers.Count - 1; i >= 0; i--)
            {
                if (!_subscribers[i].Writer.TryWrite(e))
                {
                    // Too slow to keep up: its stream ends; it may reconnect with Last-Event-ID and catch up.
                    _subscribers[i].Writer.TryComplete();
                    _subscribers.RemoveAt(i);
                }
            }
        }

        Forward?.Invoke(e);
        return e;
    }

    /// <summary>Pushes appended events to the file (once per engine batch).</summary>
    public void Flush()
    {
        lock (_lock)
        {
            try
            {
                _file?.Flush();
            }
            catch (IOException)
            {
                _writeFailed = true;
                Reopen();
            }
        }
    }

    /// <summary>The kept events after <paramref name="afterId"/>, oldest first.</summary>
    public List<GatewayEvent> Since(long afterId)
    {
        lock (_lock)
        {
            return [.. _recent.Where(e => e.Id > afterId)];
        }
    }

    /// <summary>A live feed: the kept events after <paramref name="afterId"/>, then each new one.</summary>
    public ChannelReader<GatewayEvent> Subscribe(long afterId, out Action unsubscribe)
    {
        var channel = Channel.CreateBounded<GatewayEvent>(new BoundedChannelOptions(SubscriberQueue + Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        lock (_lock)
        {
            foreach (GatewayEvent e in _recent.Where(e => e.Id > afterId))
            {
                channel.Writer.TryWrite(e);
            }

            _subscribers.Add(channel);
        }

        unsubscribe = () =>
        {
            lock (_lock)
            {
                _subscribers.Remove(channel);
            }

            channel.Writer.TryComplete();
        };
        return channel.Reader;
    }

    public int SubscriberCount
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count;
            }
        }
    }

    private void Load()
    {
        if (_path is null)
        {
            return;
        }

        try
        {
            if (File.Exists(_path))
            {
                foreach (string line in File.ReadLines(_path))
                {
                    _linesInFile++;
                    GatewayEvent? e = null;
                    try
                    {
                        e = JsonSerializer.Deserialize(line, AdminJsonContext.Default.GatewayEvent);
                    }
                    catch (JsonException)
                    {
                        // A line torn by a crash, or not ours: skipped.
                    }

                    if (e is not null && e.Id >= _nextId)
                    {
                        _recent.Enqueue(e);
                        _nextId = e.Id + 1;
                        if (_recent.Count > Capacity)
                        {
                            _recent.Dequeue();
                        }
                    }
                }
            }

            try
            {
                _fileBudget = FileBudget(_space(Path.GetDirectoryName(_path)!).Total);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
            }

            if (_linesInFile > Capacity || new FileInfo(_path).Length >= _fileBudget)
            {
                Rewrite();
            }

            _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, 16384);
            _fileBytes = _file.Length;
            if (_file.Length > 0 && !EndsWithNewline(_path))
            {
                _file.WriteByte((byte)'\n'); // a line torn by a crash: the next event starts a line of its own
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _file = null;
            _writeFailed = true;
        }
    }

    /// <summary>Events kept out of the file because the state filesystem was (nearly) full.</summary>
    public long NotWritten => Interlocked.Read(ref _notWritten);

    /// <summary>Whether the state filesystem has room to spare for events (asked at most once a second).</summary>
    private bool RoomToWrite()
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (now - _spaceCheckedAt >= TimeSpan.FromSeconds(1) || now < _spaceCheckedAt)
        {
            _spaceCheckedAt = now;
            try
            {
                (long free, long total) = _space(Path.GetDirectoryName(_path)!);
                _roomToWrite = free >= Math.Max(ReserveBytes, total / 8);
                _fileBudget = FileBudget(total);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                _roomToWrite = true; // cannot tell: the write itself will say
            }
        }

        return _roomToWrite;
    }

    private static long FileBudget(long total) => Math.Clamp(total / 4, 16 * 1024, MaxFileBytes);

    private static (long Free, long Total) FileSystemSpace(string directory)
    {
        var drive = new DriveInfo(directory);
        return (drive.AvailableFreeSpace, drive.TotalSize);
    }

    private void Append(GatewayEvent e)
    {
        if (_path is null)
        {
            return;
        }

        if (!RoomToWrite())
        {
            Interlocked.Increment(ref _notWritten);
            _writeFailed = true;
            return;
        }

        if (_file is null)
        {
            Reopen(); // after a failure: space came back
            if (_file is null)
            {
                Interlocked.Increment(ref _notWritten);
                return;
            }
        }

        try
        {
            byte[] line = [.. JsonSerializer.SerializeToUtf8Bytes(e, AdminJsonContext.Default.GatewayEvent), (byte)'\n'];
            _file.Write(line);
            _fileBytes += line.Length;
            _writeFailed = false;
            if (++_linesInFile >= 2 * Capacity || _fileBytes >= _fileBudget)
            {
                _file.Dispose();
                Rewrite();
                _file = new FileStream(_path!, FileMode.Append, FileAccess.Write, FileShare.Read, 16384);
            }
        }
        catch (IOException)
        {
            // A full disk: the event stays in memory and in the stream. What the buffer held is dropped with it (a
            // stream that failed to write keeps failing); the file goes on with later events.
            _writeFailed = true;
            Interlocked.Increment(ref _notWritten);
            Reopen();
        }
    }

    private void Reopen()
    {
        try
        {
            _file?.Dispose();
        }
        catch (IOException)
        {
        }

        _file = null;
        try
        {
            _file = new FileStream(_path!, FileMode.Append, FileAccess.Write, FileShare.Read, 16384);
            _fileBytes = _file.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _file = null;
        }
    }

    private static bool EndsWithNewline(string path)
    {
        using var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        read.Seek(-1, SeekOrigin.End);
        return read.ReadByte() == '\n';
    }

    /// <summary>Whether the last write to the file failed (a full disk).</summary>
    public bool WriteFailed => _writeFailed;

    /// <summary>
    /// The file down to the newest kept events that fill half its budget: written aside, then put in place in one
    /// rename. A disk too full for the copy leaves the file as it was (the copy is removed) and throws.
    /// </summary>
    private void Rewrite()
    {
        string temporary = _path + ".new";
        var lines = new List<byte[]>();
        long bytes = 0;
        GatewayEvent[] recent = [.. _recent];
        for (int i = recent.Length - 1; i >= 0; i--)
        {
            byte[] line = [.. JsonSerializer.SerializeToUtf8Bytes(recent[i], AdminJsonContext.Default.GatewayEvent), (byte)'\n'];
            if (bytes + line.Length > _fileBudget / 2)
            {
                break;
            }

            lines.Add(line);
            bytes += line.Length;
        }

        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                for (int i = lines.Count - 1; i >= 0; i--)
                {
                    stream.Write(lines[i]);
                }

                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, _path!, overwrite: true);
        }
        catch (IOException)
        {
            File.Delete(temporary);
            throw;
        }

        _linesInFile = lines.Count;
        _fileBytes = bytes;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            try
            {
                _file?.Dispose();
            }
            catch (IOException)
            {
                // The last buffered events could not be written (a full disk): they are lost to the file only.
            }

            _file = null;
            foreach (Channel<GatewayEvent> subscriber in _subscribers)
            {
                subscriber.Writer.TryComplete();
            }

            _subscribers.Clear();
        }
    }

    /// <summary>One Server-Sent Events message: id, event name and the JSON as data.</summary>
    public static string ToServerSentEvent(GatewayEvent e) =>
        new StringBuilder().Append("id: ").Append(e.Id).Append("\nevent: ").Append(e.Kind).Append("\ndata: ")
            .Append(JsonSerializer.Serialize(e, AdminJsonContext.Default.GatewayEvent)).Append("\n\n").ToString();
}
