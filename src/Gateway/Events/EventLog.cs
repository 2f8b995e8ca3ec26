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
/// </summary>
public sealed class EventLog : IDisposable
{
    public const string FileName = "events.jsonl";
    public const int Capacity = 10_000;
    private const int SubscriberQueue = 1024;

    private readonly Lock _lock = new();
    private readonly string? _path;
    private readonly LinkedList<GatewayEvent> _recent = new();
    private readonly List<Channel<GatewayEvent>> _subscribers = [];
    private readonly TimeProvider _time;
    private FileStream? _file;
    private int _linesInFile;
    private long _nextId = 1;
    private bool _writeFailed;

    public EventLog(string? stateDirectory, TimeProvider? time = null)
    {
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

    /// <summary>Records an event (its id and time are assigned here) and hands it to every subscriber.</summary>
    public GatewayEvent Publish(GatewayEvent draft)
    {
        GatewayEvent e;
        lock (_lock)
        {
            e = draft with { Id = _nextId++, Time = _time.GetUtcNow() };
            _recent.AddLast(e);
            if (_recent.Count > Capacity)
            {
                _recent.RemoveFirst();
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
                        _recent.AddLast(e);
                        _nextId = e.Id + 1;
                        if (_recent.Count > Capacity)
                        {
                            _recent.RemoveFirst();
                        }
                    }
                }
            }

            if (_linesInFile > Capacity)
            {
                Rewrite();
            }

            _file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, 16384);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _file = null;
            _writeFailed = true;
        }
    }

    private void Append(GatewayEvent e)
    {
        if (_file is null)
        {
            return;
        }

        try
        {
            byte[] line = [.. JsonSerializer.SerializeToUtf8Bytes(e, AdminJsonContext.Default.GatewayEvent), (byte)'\n'];
            _file.Write(line);
            _writeFailed = false;
            if (++_linesInFile >= 2 * Capacity)
            {
                _file.Dispose();
                Rewrite();
                _file = new FileStream(_path!, FileMode.Append, FileAccess.Write, FileShare.Read, 16384);
            }
        }
        catch (IOException)
        {
            // A full disk: the event stays in memory and in the stream; the file catches up with later ones.
            _writeFailed = true;
        }
    }

    /// <summary>Whether the last write to the file failed (a full disk).</summary>
    public bool WriteFailed => _writeFailed;

    /// <summary>The file down to the kept events: written aside, then put in place in one rename.</summary>
    private void Rewrite()
    {
        string temporary = _path + ".new";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            foreach (GatewayEvent e in _recent)
            {
                stream.Write(JsonSerializer.SerializeToUtf8Bytes(e, AdminJsonContext.Default.GatewayEvent));
                stream.WriteByte((byte)'\n');
            }

            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, _path!, overwrite: true);
        _linesInFile = _recent.Count;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _file?.Dispose();
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
