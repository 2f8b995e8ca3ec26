using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using PortMapper.Gateway.Leases;

namespace PortMapper.Gateway.Persistence;

/// <summary>
/// The lease table on disk: an append-only journal under the state directory. Changes are buffered and
/// written by <see cref="Flush"/> before any answer goes out, so a process that is killed at any moment has
/// every acknowledged lease in the file (the write is in the kernel's page cache). With fsync on, a thread of
/// its own syncs the file to the disk right after each write, off the answer path: a power cut can lose at most
/// what was acknowledged in the last <see cref="MaxUnsynced"/>, because a write that finds older data not yet
/// synced waits for the sync before it returns. The journal is rewritten compactly, through a rename, when it
/// grows.
/// </summary>
public sealed partial class LeaseStore : IDisposable
{
    public const string FileName = "leases.journal";

    /// <summary>The most a power cut can take: what was acknowledged in this window before it.</summary>
    public static readonly TimeSpan MaxUnsynced = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the syncer lets writes gather before it syncs them together.</summary>
    private static readonly TimeSpan SyncDelay = TimeSpan.FromMilliseconds(50);

    private const long MinCompactBytes = 1 << 20;

    private readonly string _path;
    private readonly string _directory;
    private readonly bool _fsync;
    private readonly ArrayBufferWriter<byte> _pending = new(64 * 1024);
    private readonly Lock _fileLock = new();   // the file against the syncer: held to swap it and to sync it
    private readonly object _syncState = new(); // the counters below, and the syncer's wake-up (Monitor.Wait)
    private FileStream? _file;
    private Thread? _syncer;
    private bool _stopping;
    private long _written;      // writes made
    private long _synced;       // writes known to be on the disk
    private long _oldestUnsynced; // Stopwatch timestamp from which data may not be on the disk; 0: all synced
    private long _fileLength;   // the file's length after the last whole write: where a failed write is cut back to
    private bool _cutBack;      // a failed write may have left part of a record: cut the file back before the next

    public LeaseStore(string directory, bool fsync)
    {
        _directory = directory;
        _path = Path.Combine(directory, FileName);
        _fsync = fsync;
    }

    public long Length => _fileLength + _pending.WrittenCount;

    /// <summary>
    /// The journal could not take the last write (disk full, quota, I/O error): what was recorded since stays
    /// pending, in order, and goes out with the first write that succeeds. Nothing recorded meanwhile is durable.
    /// </summary>
    public bool Failing { get; private set; }

    /// <summary>Why the last write failed, while <see cref="Failing"/>.</summary>
    public string? FailureReason { get; private set; }

    public StoredState Load()
    {
        Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        StoredState state = Read(File.Exists(_path) ? File.ReadAllBytes(_path) : [], out int intact);
        if (state.DiscardedBytes > 0)
        {
            // A torn tail from an interrupted write: cut it so new records follow the last intact one.
            using var truncate = new FileStream(_path, FileMode.Open, FileAccess.Write);
            truncate.SetLength(intact);
            truncate.Flush(flushToDisk: true);
        }

        _file = OpenForAppend(_path);
        _fileLength = _file.Length;
        return state;
    }

    /// <summary>
    /// The state a journal holds: every intact record applied in order, a record that is intact but unreadable
    /// skipped (one lease lost, not the start), reading stopped at the first torn or corrupt record;
    /// <paramref name="intact"/> is the length of the records read.
    /// </summary>
    internal static StoredState Read(ReadOnlySpan<byte> journal, out int intact)
    {
        var leases = new Dictionary<long, Lease>();
        DateTimeOffset? epochStart = null;
        IPAddress? epochAddress = null;
        long nextId = 1;
        int skipped = 0;
        string? skipReason = null;
        int offset = 0;
        while (JournalCodec.TryReadRecord(journal[offset..], out ReadOnlySpan<byte> payload, out int consumed))
        {
            try
            {
                Apply(payload, leases, ref epochStart, ref epochAddress, ref nextId);
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
            {
                skipped++;
                skipReason ??= e.Message;
            }

            offset += consumed;
        }

        intact = offset;
        return new StoredState(leases.Values, epochStart, epochAddress, nextId, journal.Length - offset, skipped, skipReason);
    }

    private static void Apply(ReadOnlySpan<byte> payload, Dictionary<long, Lease> leases, ref DateTimeOffset? epochStart, ref IPAddress? epochAddress, ref long nextId)
    {
        switch ((JournalRecordType)payload[0])
        {
            case JournalRecordType.Put:
                Lease lease = JournalCodec.ReadPut(payload);
                leases[lease.Id] = lease;
                nextId = Math.Max(nextId, lease.Id + 1);
                break;
            case JournalRecordType.Delete:
                leases.Remove(JournalCodec.ReadId(payload));
                break;
            case JournalRecordType.Epoch:
                (DateTimeOffset start, IPAddress? address) = JournalCodec.ReadEpoch(payload);
                epochStart = start;
                epochAddress = address;
                break;
            case JournalRecordType.IdFloor:
                nextId = Math.Max(nextId, JournalCodec.ReadId(payload));
                break;
            default:
                throw new InvalidDataException($"unknown record type {payload[0]}");
        }
    }

    public void Record(IReadOnlyList<LeaseChange> changes)
    {
        foreach (LeaseChange change in changes)
        {
            if (change.Kind is LeaseChangeKind.Added or LeaseChangeKind.Renewed)
            {
                JournalCodec.WritePut(_pending, change.Lease);
            }
            else
            {
                JournalCodec.WriteDelete(_pending, change.Lease.Id);
            }
        }
    }

    public void RecordEpoch(DateTimeOffset start, IPAddress? address) => JournalCodec.WriteEpoch(_pending, start, address);

    /// <summary>
    /// Writes what was recorded since the last flush (one write, then fsync when configured). False when the file
    /// cannot take it: the records stay pending, the file is cut back to its last whole record (a torn record in the
    /// middle would hide every later one from the next start), and <see cref="Failing"/> is set until a write succeeds.
    /// </summary>
    public bool Flush()
    {
        if (_pending.WrittenCount == 0)
        {
            return true;
        }

        FileStream file = _file ?? throw new InvalidOperationException("Load the store before writing to it.");
        try
        {
            if (_cutBack)
            {
                file = CutBack();
            }

            file.Write(_pending.WrittenSpan);
        }
        catch (IOException e)
        {
            _cutBack = true;
            Failing = true;
            FailureReason = e.Message;
            return false;
        }

        _fileLength += _pending.WrittenCount;
        _pending.ResetWrittenCount();
        Failing = false;
        FailureReason = null;
        if (_fsync)
        {
            RequestSync();
        }

        return true;
    }

    /// <summary>
    /// While <see cref="Failing"/>: tries the file again, with what is pending or, when nothing is, a record that
    /// changes nothing (the identifier floor). True once the journal takes writes again.
    /// </summary>
    public bool TryResume(long nextId)
    {
        if (!Failing)
        {
            return true;
        }

        if (_pending.WrittenCount == 0)
        {
            JournalCodec.WriteIdFloor(_pending, nextId);
        }

        return Flush();
    }

    /// <summary>The journal is known not to take writes (the start could not rewrite it): grant nothing until it does.</summary>
    public void MarkFailing() => Failing = true;

    /// <summary>Cuts the file back to the end of its last whole write (shrinking needs no space) and reopens it.</summary>
    private FileStream CutBack()
    {
        lock (_fileLock)
        {
            _file?.Dispose();
            _file = null;
            using (var truncate = new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.Read, 1, FileOptions.None))
            {
                truncate.SetLength(_fileLength);
            }

            _file = OpenForAppend(_path);
            _cutBack = false;
            return _file;
        }
    }

    /// <summary>Blocks until everything written so far is on the disk (fsync on); returns at once otherwise.</summary>
    public void WaitUntilDurable()
    {
        lock (_syncState)
        {
            long target = _written;
            while (_synced < target && _syncer is not null)
            {
                Monitor.Wait(_syncState);
            }
        }
    }

    /// <summary>Wakes the syncer for the write just made; waits for it when unsynced data is older than the window.</summary>
    private void RequestSync()
    {
        long now = Stopwatch.GetTimestamp();
        lock (_syncState)
        {
            _written++;
            if (_syncer is null)
            {
                _syncer = new Thread(SyncLoop) { IsBackground = true, Name = "journal sync" };
                _syncer.Start();
            }

            bool overdue = _oldestUnsynced != 0 && Stopwatch.GetElapsedTime(_oldestUnsynced, now) > MaxUnsynced;
            if (_oldestUnsynced == 0)
            {
                _oldestUnsynced = now;
            }

            Monitor.PulseAll(_syncState);
            long target = _written;
            while (overdue && _synced < target)
            {
                Monitor.Wait(_syncState);
            }
        }
    }

    private void SyncLoop()
    {
        while (true)
        {
            long target;
            long started;
            lock (_syncState)
            {
                while (_synced == _written && !_stopping)
                {
                    Monitor.Wait(_syncState);
                }

                if (_synced == _written)
                {
                    return;
                }

                // Gather what comes in the first half of the window into the same sync: one fdatasync per 50 ms at
                // most under load, rather than one per write.
                TimeSpan gather = SyncDelay - Stopwatch.GetElapsedTime(_oldestUnsynced);
                if (gather > TimeSpan.Zero && !_stopping)
                {
                    Monitor.Wait(_syncState, gather);
                }

                target = _written;
                started = Stopwatch.GetTimestamp();
            }

            lock (_fileLock)
            {
                if (_file is { } file)
                {
                    _ = NativeFdatasync(file.SafeFileHandle);
                }
            }

            lock (_syncState)
            {
                _synced = target;
                _oldestUnsynced = _written > target ? started : 0; // what came during the sync may not be on the disk
                Monitor.PulseAll(_syncState);
            }
        }
    }

    private void StopSyncer()
    {
        Thread? syncer;
        lock (_syncState)
        {
            _stopping = true;
            syncer = _syncer;
            Monitor.PulseAll(_syncState);
        }

        syncer?.Join();
        lock (_syncState)
        {
            _syncer = null;
            _stopping = false;
        }
    }

    public bool ShouldCompact(int liveLeases) => Length > MinCompactBytes && Length > 8L * 128 * Math.Max(liveLeases, 1);

    /// <summary>
    /// Rewrites the journal as a snapshot of the live state; the old file stays whole until the rename. False (the
    /// old file and anything pending kept as they were) when the disk cannot take the snapshot.
    /// </summary>
    public bool Compact(IEnumerable<Lease> leases, DateTimeOffset epochStart, IPAddress? epochAddress, long nextId)
    {
        if (!Flush())
        {
            return false;
        }

        string temporary = _path + ".tmp";
        var snapshot = new ArrayBufferWriter<byte>(64 * 1024);
        JournalCodec.WriteEpoch(snapshot, epochStart, epochAddress);
        JournalCodec.WriteIdFloor(snapshot, nextId);
        foreach (Lease lease in leases)
        {
            JournalCodec.WritePut(snapshot, lease);
        }

        try
        {
            using var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            file.Write(snapshot.WrittenSpan);
            file.Flush(flushToDisk: true);
        }
        catch (IOException e)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (IOException)
            {
            }

            FailureReason = e.Message;
            return false;
        }

        lock (_fileLock)
        {
            // The old file's unsynced tail is in the snapshot, which is on the disk once the rename is.
            _file?.Dispose();
            File.Move(temporary, _path, overwrite: true);
            SyncDirectory(_directory);
            _file = OpenForAppend(_path);
            _fileLength = snapshot.WrittenCount;
        }

        return true;
    }

    public void Dispose()
    {
        Flush();
        StopSyncer();
        lock (_fileLock)
        {
            _file?.Dispose();
            _file = null;
        }
    }

    private static FileStream OpenForAppend(string path) =>
        new(path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 0,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });

    /// <summary>Makes a rename in the directory durable (rename is atomic, but only fsync of the directory persists it).</summary>
    private static void SyncDirectory(string directory)
    {
        const int ReadOnlyDirectory = 0x10000; // O_RDONLY | O_DIRECTORY
        int fd = NativeOpen(directory, ReadOnlyDirectory);
        if (fd >= 0)
        {
            NativeFsync(fd);
            NativeClose(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fdatasync")]
    private static partial int NativeFdatasync(SafeHandle fd);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int NativeFsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int NativeClose(int fd);
}
