using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Raft.Storage.Wal;

/// <summary>
/// The segmented write-ahead log: recovery at open, batched appends with one data sync, rotation into new
/// preallocated segments, and deletion of segments a snapshot made unnecessary. Not thread-safe.
/// </summary>
/// <remarks>
/// <para>Invariants: every segment before the active one is sealed (synced, complete, zero-filled after its last record);
/// the active segment is written only at <see cref="_fileOffset"/>; each segment begins with the hard state current
/// when it was started, so deleting older segments never loses the term and vote.</para>
/// <para>The next segment file is prepared in the background (<see cref="SegmentPipeline"/>) from open on and after
/// every rotation, so a rotation renames a ready file instead of zero-filling a whole segment on the appending thread.
/// Only a rotation changes the active segment's sequence, so the prepared file (for that sequence + 1) stays valid
/// until the next rotation takes it.</para>
/// </remarks>
internal sealed class WriteAheadLog : IDisposable
{
    private const int ZeroChunkBytes = 1024 * 1024;
    private static readonly byte[] s_zeros = new byte[ZeroChunkBytes];

    private readonly string _directory;
    private readonly StorageOptions _options;
    private readonly List<SegmentInfo> _segments;
    private readonly SegmentPipeline _pipeline;
    private SafeFileHandle _active;
    private long _fileOffset;
    private long _durableOffset;
    private uint _chainCrc;
    private byte[] _buffer;
    private int _pending;
    private HardState _lastHardState;
    private ulong _lastMarkerSequence;
    private bool _disposed;

    private WriteAheadLog(string directory, StorageOptions options, List<SegmentInfo> segments, SafeFileHandle active,
        long fileOffset, uint chainCrc, HardState lastHardState, ulong lastMarkerSequence)
    {
        _directory = directory;
        _options = options;
        _segments = segments;
        _active = active;
        _fileOffset = fileOffset;
        _durableOffset = fileOffset;
        _chainCrc = chainCrc;
        _lastHardState = lastHardState;
        _lastMarkerSequence = lastMarkerSequence;
        _buffer = new byte[options.WriteBufferSizeBytes];
        _pipeline = new SegmentPipeline(directory, options);
        // Only the active segment's sequence decides which file comes next; it changes only in Rotate.
        _pipeline.Start(segments[^1].Sequence + 1);
    }

    /// <summary>Segment files, oldest first; the last is being written.</summary>
    public IReadOnlyList<SegmentInfo> Segments => _segments;

    /// <summary>The active segment and the offset up to which it is known durable (for crash tests).</summary>
    public (ulong Sequence, long OffsetBytes) DurablePosition => (_segments[^1].Sequence, _durableOffset);

    private SegmentInfo ActiveSegment => _segments[^1];

    /// <summary>The background preparation of the next segment (for tests).</summary>
    internal SegmentPipeline Pipeline => _pipeline;

    /// <summary>
    /// Opens the log in <paramref name="directory"/>, reading and verifying every segment, joining the log to
    /// <paramref name="snapshot"/> (the newest valid one), and cutting off a torn tail.
    /// </summary>
    public static WriteAheadLog Open(string directory, StorageOptions options, Snapshot? snapshot, RecoveryReport report,
        out HardState hardState, out List<Entry> entries)
    {
        CreateDirectory(directory);
        foreach (var tmp in Directory.EnumerateFiles(directory, "*" + WalFormat.TemporaryExtension))
        {
            Delete(tmp);
            report.AddRemovedTemporaryFile(tmp);
        }
        var segments = ListSegments(directory, snapshot);
        if (segments.Count == 0)
        {
            var (handle, crc) = CreateSegmentFile(directory, options, 1);
            segments.Add(new SegmentInfo(1, Path.Combine(directory, WalFormat.SegmentFileName(1))));
            hardState = HardState.Empty;
            entries = [];
            report.SnapshotIndex = null;
            return new WriteAheadLog(directory, options, segments, handle, WalFormat.SegmentHeaderSizeBytes, crc, HardState.Empty, 0);
        }
        var read = ReadSegments(directory, options, segments, snapshot, report);
        hardState = read.HardState;
        entries = read.Entries;
        var lastMarkerSequence = read.LastMarkerSequence;
        var lastSegmentHasHardState = read.LastSegmentHasHardState;

        // Everything checks out: only now touch the files. Cut off a torn tail (and any stray bytes after the end).
        var active = segments[^1];
        var tail = read.LastScan;
        SafeFileHandle activeHandle;
        try
        {
            activeHandle = File.OpenHandle(active.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "opening the last log segment for writing", active.Path);
        }
        try
        {
            if (tail.TornReason is not null || tail.DirtyEndOffsetBytes > tail.EndOffsetBytes)
            {
                var discarded = tail.DirtyEndOffsetBytes - tail.EndOffsetBytes;
                if (options.PreallocateSegments)
                {
                    for (var off = tail.EndOffsetBytes; off < tail.DirtyEndOffsetBytes; off += ZeroChunkBytes)
                        RandomAccess.Write(activeHandle, s_zeros.AsSpan(0, (int)Math.Min(ZeroChunkBytes, tail.DirtyEndOffsetBytes - off)), off);
                }
                else
                {
                    RandomAccess.SetLength(activeHandle, tail.EndOffsetBytes);
                }
                NativeFile.DataSync(activeHandle);
                report.TornTail = new TornTail(active.Path, tail.EndOffsetBytes, discarded,
                    tail.TornReason ?? "stray bytes after the end of the records (an interrupted write)");
            }
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            activeHandle.Dispose();
            throw IoErrors.Translate(e, "cutting off the torn tail of", active.Path);
        }
        var wal = new WriteAheadLog(directory, options, segments, activeHandle, tail.EndOffsetBytes, tail.LastCrc, hardState, lastMarkerSequence);
        if (!lastSegmentHasHardState && !hardState.IsEmpty)
        {
            // A crash after a roll can lose the hard state the new segment starts with. Write it again now: once the
            // older segments are released, the term and vote would otherwise be gone.
            try
            {
                wal.Append(null, [], 0, hardState, sync: true);
            }
            catch
            {
                wal.Dispose();
                throw;
            }
            report.AddNote($"rewrote the hard state (term {hardState.Term}, vote {hardState.Vote}, commit {hardState.Commit}) missing from {Path.GetFileName(active.Path)}");
        }
        return wal;
    }

    /// <summary>
    /// Reads and verifies the log in <paramref name="directory"/> exactly as <see cref="Open"/> does, joined to
    /// <paramref name="snapshot"/>, but changes no file: a torn tail is reported in <paramref name="report"/> (as
    /// <see cref="Open"/> would cut it off), leftover temporary files are left alone, and a missing directory or one
    /// without segments reads as an empty log. For offline inspection of a stopped member (<see cref="StoredLog"/>).
    /// </summary>
    /// <exception cref="StorageCorruptException">The log is damaged, as <see cref="Open"/> would report it.</exception>
    public static (HardState HardState, List<Entry> Entries) ReadOnly(string directory, StorageOptions options, Snapshot? snapshot, RecoveryReport report)
    {
        if (!Directory.Exists(directory))
        {
            if (snapshot is not null)
                throw new StorageCorruptException(directory, -1, "a write-ahead log directory (a snapshot exists)", "no such directory");
            return (HardState.Empty, []);
        }
        var segments = ListSegments(directory, snapshot);
        if (segments.Count == 0) return (HardState.Empty, []);
        var read = ReadSegments(directory, options, segments, snapshot, report);
        var tail = read.LastScan;
        if (tail.TornReason is not null || tail.DirtyEndOffsetBytes > tail.EndOffsetBytes)
            report.TornTail = new TornTail(segments[^1].Path, tail.EndOffsetBytes, tail.DirtyEndOffsetBytes - tail.EndOffsetBytes,
                tail.TornReason ?? "stray bytes after the end of the records (an interrupted write)");
        return (read.HardState, read.Entries);
    }

    /// <summary>What reading every segment found (see <see cref="ReadSegments"/>).</summary>
    private sealed record SegmentsRead(HardState HardState, List<Entry> Entries, ulong LastMarkerSequence, bool LastSegmentHasHardState, SegmentScanResult LastScan);

    /// <summary>The segment files in <paramref name="directory"/>, in sequence order; a hole in the sequence is corruption.</summary>
    private static List<SegmentInfo> ListSegments(string directory, Snapshot? snapshot)
    {
        var segments = new List<SegmentInfo>();
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            if (WalFormat.TryParseSegmentFileName(Path.GetFileName(file), out var seq)) segments.Add(new SegmentInfo(seq, file));
        }
        segments.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        for (var i = 1; i < segments.Count; i++)
        {
            if (segments[i].Sequence != segments[i - 1].Sequence + 1)
                throw new StorageCorruptException(directory, -1,
                    $"segment {WalFormat.SegmentFileName(segments[i - 1].Sequence + 1)} after {Path.GetFileName(segments[i - 1].Path)}",
                    $"the next segment is {Path.GetFileName(segments[i].Path)}");
        }
        if (segments.Count == 0 && snapshot is not null)
            throw new StorageCorruptException(directory, -1,
                "write-ahead log segments (a snapshot exists, so the log was written before and holds the term and vote)", "no segment files");
        return segments;
    }

    /// <summary>
    /// Reads and verifies every segment in order and replays the records (<see cref="LogReplay"/>), joined to
    /// <paramref name="snapshot"/>. Touches no file.
    /// </summary>
    private static SegmentsRead ReadSegments(string directory, StorageOptions options, List<SegmentInfo> segments, Snapshot? snapshot, RecoveryReport report)
    {
        var replay = new LogReplay(fromBeginning: segments[0].Sequence == 1);
        ulong lastMarkerSequence = 0;
        var lastSegmentHasHardState = false;
        SegmentScanResult? lastScan = null;
        byte[] buffer = [];
        // Entries the snapshot covers are replayed for their index and term only (LogReplay.Finish returns none of
        // them): copying their data would allocate and promote up to two segments of payloads on every start.
        var coveredIndex = snapshot?.Index ?? 0;
        for (var i = 0; i < segments.Count; i++)
        {
            var segment = segments[i];
            var isLast = i == segments.Count - 1;
            var length = ReadWholeFile(segment.Path, options, ref buffer);
            var scan = SegmentScanner.Scan(segment.Path, buffer.AsSpan(0, length), segment.Sequence, isLast, (type, payload, offset) =>
            {
                switch (type)
                {
                    case RecordType.Entry:
                        var entry = DecodeEntry(payload, coveredIndex);
                        replay.OnEntry(entry, segment.Path, offset);
                        if (entry.Index > segment.MaxEntryIndex) segment.MaxEntryIndex = entry.Index;
                        break;
                    case RecordType.HardState:
                        replay.OnHardState(DecodeHardState(payload), segment.Path, offset);
                        lastSegmentHasHardState |= isLast;
                        break;
                    case RecordType.SnapshotMarker:
                        replay.OnMarker(BinaryPrimitives.ReadUInt64LittleEndian(payload), BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]), segment.Path, offset);
                        lastMarkerSequence = segment.Sequence;
                        break;
                    default:
                        throw new StorageCorruptException(segment.Path, offset, "a known record type", $"type {(byte)type}");
                }
            });
            report.SegmentsRead++;
            report.RecordsRead += scan.Records;
            if (isLast) lastScan = scan;
        }
        var entries = replay.Finish(snapshot, directory, report);
        var hardState = replay.HardState;
        var lastIndex = entries.Count > 0 ? entries[^1].Index : snapshot?.Index ?? 0;
        if (hardState.Commit > lastIndex)
            throw new StorageCorruptException(directory, -1, $"a committed index at most {lastIndex} (the end of the recovered log)",
                $"hard state commit {hardState.Commit}");
        report.SnapshotIndex = snapshot?.Index;
        return new SegmentsRead(hardState, entries, lastMarkerSequence, lastSegmentHasHardState, lastScan!);
    }

    /// <summary>
    /// Appends, in this order, a snapshot marker, <paramref name="entries"/> from <paramref name="firstEntry"/> on,
    /// and a hard state, with as few write calls as the buffer allows, then one data sync when
    /// <paramref name="sync"/>. On an exception the log must not be used again (the caller poisons it).
    /// </summary>
    public void Append(SnapshotMetadata? marker, IReadOnlyList<Entry> entries, int firstEntry, HardState? hardState, bool sync)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            if (marker is not null) WriteMarker(marker.Index, marker.Term);
            for (var i = firstEntry; i < entries.Count; i++) WriteEntry(entries[i]);
            if (hardState is { } hs) WriteHardState(hs);
            FlushPending();
            if (sync && _durableOffset < _fileOffset)
            {
                NativeFile.DataSync(_active);
                _durableOffset = _fileOffset;
            }
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "appending to log segment", ActiveSegment.Path);
        }
    }

    /// <summary>Makes everything appended so far durable (a no-op when it already is).</summary>
    public void Sync()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_durableOffset >= _fileOffset) return;
        try
        {
            NativeFile.DataSync(_active);
            _durableOffset = _fileOffset;
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "syncing log segment", ActiveSegment.Path);
        }
    }

    /// <summary>
    /// Forgets the oldest segments that nothing needs any more: those whose entries are all at or below
    /// <paramref name="releaseIndex"/> (covered by a retained snapshot), and those before the newest snapshot marker
    /// (superseded). Never the active segment; always a prefix, so the remaining chain has no holes. Touches no file:
    /// returns the segments' paths, oldest first, for <see cref="DeleteSegments"/>.
    /// </summary>
    public IReadOnlyList<string> DetachSegments(ulong releaseIndex)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        List<string>? detached = null;
        while (_segments.Count > 1)
        {
            var oldest = _segments[0];
            if (oldest.Sequence >= _lastMarkerSequence && oldest.MaxEntryIndex > releaseIndex) break;
            (detached ??= []).Add(oldest.Path);
            _segments.RemoveAt(0);
        }
        return detached ?? (IReadOnlyList<string>)[];
    }

    /// <summary>
    /// Deletes segments returned by <see cref="DetachSegments"/>, oldest first, syncing the directory after each, so
    /// a crash cannot bring back an older segment behind a hole in the chain. Thread-safe (touches no state).
    /// </summary>
    public static void DeleteSegments(string directory, IReadOnlyList<string> paths)
    {
        foreach (var path in paths)
        {
            Delete(path);
            try
            {
                NativeFile.SyncDirectory(directory);
            }
            catch (Exception e) when (IoErrors.IsIoFailure(e))
            {
                throw IoErrors.Translate(e, "syncing the log directory after deleting segments", directory);
            }
        }
    }

    /// <summary>The directory holding the segments.</summary>
    public string DirectoryPath => _directory;

    private void WriteEntry(in Entry entry)
    {
        var payloadBytes = WalFormat.EntryPayloadHeaderBytes + entry.Data.Length;
        var frame = Reserve(payloadBytes);
        var p = frame[WalFormat.FrameHeaderSizeBytes..];
        BinaryPrimitives.WriteUInt64LittleEndian(p, entry.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], entry.Term);
        p[16] = (byte)entry.Type;
        entry.Data.Span.CopyTo(p[WalFormat.EntryPayloadHeaderBytes..]);
        Commit(frame, RecordType.Entry, payloadBytes);
        if (entry.Index > ActiveSegment.MaxEntryIndex) ActiveSegment.MaxEntryIndex = entry.Index;
    }

    private void WriteHardState(HardState state)
    {
        var frame = Reserve(WalFormat.HardStatePayloadBytes);
        var p = frame[WalFormat.FrameHeaderSizeBytes..];
        BinaryPrimitives.WriteUInt64LittleEndian(p, state.Term);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], state.Vote);
        BinaryPrimitives.WriteUInt64LittleEndian(p[16..], state.Commit);
        Commit(frame, RecordType.HardState, WalFormat.HardStatePayloadBytes);
        _lastHardState = state;
    }

    private void WriteMarker(ulong index, ulong term)
    {
        var frame = Reserve(WalFormat.SnapshotMarkerPayloadBytes);
        var p = frame[WalFormat.FrameHeaderSizeBytes..];
        BinaryPrimitives.WriteUInt64LittleEndian(p, index);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], term);
        Commit(frame, RecordType.SnapshotMarker, WalFormat.SnapshotMarkerPayloadBytes);
        _lastMarkerSequence = ActiveSegment.Sequence;
    }

    /// <summary>Room for one frame in the buffer, rotating to a new segment first when it would not fit.</summary>
    private Span<byte> Reserve(int payloadBytes)
    {
        var frameBytes = WalFormat.FrameSize(payloadBytes);
        if (_fileOffset + _pending + frameBytes > _options.SegmentSizeBytes)
        {
            Rotate();
            RaftInvariantException.Assert(_fileOffset + _pending + frameBytes <= _options.SegmentSizeBytes,
                $"a {frameBytes}-byte record does not fit in a fresh {_options.SegmentSizeBytes}-byte segment");
        }
        if (_pending + frameBytes > _buffer.Length)
        {
            FlushPending();
            if (frameBytes > _buffer.Length) _buffer = new byte[frameBytes];
        }
        return _buffer.AsSpan(_pending, frameBytes);
    }

    private void Commit(Span<byte> frame, RecordType type, int payloadBytes)
    {
        _chainCrc = WalFormat.SealFrame(frame, type, payloadBytes, _chainCrc);
        _pending += frame.Length;
    }

    private void FlushPending()
    {
        if (_pending == 0) return;
        RandomAccess.Write(_active, _buffer.AsSpan(0, _pending), _fileOffset);
        _fileOffset += _pending;
        _pending = 0;
    }

    /// <summary>
    /// Seals the active segment (sync) and starts the next one with the current hard state: the file prepared in the
    /// background when there is one (waiting for it if need be), else one created here. Changes nothing in memory
    /// unless the new segment is in place; then starts preparing the one after it.
    /// </summary>
    private void Rotate()
    {
        FlushPending();
        if (_durableOffset < _fileOffset) NativeFile.DataSync(_active);
        var next = ActiveSegment.Sequence + 1;
        // A failed background preparation is not reported as such: the segment is created here instead, exactly as
        // without the pipeline, so a lasting cause (a full disk) throws from this attempt and a passing one is harmless.
        var (handle, crc) = _pipeline.TryTake(next, out var prepared, out var preparedCrc)
            ? InstallSegmentFile(_directory, _options, next, prepared, preparedCrc)
            : CreateSegmentFile(_directory, _options, next);
        _active.Dispose();
        _active = handle;
        _segments.Add(new SegmentInfo(next, Path.Combine(_directory, WalFormat.SegmentFileName(next))));
        _fileOffset = WalFormat.SegmentHeaderSizeBytes;
        _durableOffset = _fileOffset;
        _chainCrc = crc;
        _pipeline.Start(next + 1);
        if (!_lastHardState.IsEmpty) WriteHardState(_lastHardState);
    }

    /// <summary>
    /// Creates segment <paramref name="sequence"/> atomically on the calling thread: header and zero fill written to a
    /// temporary file, synced, renamed into place, directory synced. A crash leaves either no segment or a complete
    /// empty one.
    /// </summary>
    private static (SafeFileHandle Handle, uint HeaderCrc) CreateSegmentFile(string directory, StorageOptions options, ulong sequence)
    {
        EnsureNoSegment(directory, sequence);
        var tmp = Path.Combine(directory, WalFormat.SegmentFileName(sequence)) + WalFormat.TemporaryExtension;
        var crc = WriteSegmentFile(tmp, options, sequence, syncEachChunk: false, CancellationToken.None);
        return InstallSegmentFile(directory, options, sequence, tmp, crc);
    }

    /// <summary>
    /// Writes the complete file of a new segment <paramref name="sequence"/> at <paramref name="tmp"/>: header, zero
    /// fill up to the segment size when preallocating, data sync. Leaves no file behind when it fails or is cancelled.
    /// Runs on the log's thread (<see cref="CreateSegmentFile"/>) or in the background (<see cref="SegmentPipeline"/>),
    /// so it touches nothing but <paramref name="tmp"/>. Returns the header CRC (the new segment's chain seed).
    /// </summary>
    /// <param name="tmp">The file to create (replaced if it exists).</param>
    /// <param name="options">Segment size and whether to preallocate.</param>
    /// <param name="sequence">Sequence number written in the header.</param>
    /// <param name="syncEachChunk">
    /// Sync after each 1 MiB of zeros rather than once at the end (background use): then the disk never has a whole
    /// segment of dirty pages to write at once ahead of the log's own syncs. With one final sync, a 64 MiB flush held
    /// up concurrent appends by tens of milliseconds; per chunk it holds them up by about one 1 MiB write.
    /// </param>
    /// <param name="cancel">Checked before each chunk.</param>
    /// <exception cref="StorageException">Writing failed; names <paramref name="tmp"/> and the errno.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> was cancelled.</exception>
    internal static uint WriteSegmentFile(string tmp, StorageOptions options, ulong sequence, bool syncEachChunk, CancellationToken cancel)
    {
        SafeFileHandle? handle = null;
        var complete = false;
        try
        {
            File.Delete(tmp);
            handle = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
            Span<byte> header = stackalloc byte[WalFormat.SegmentHeaderSizeBytes];
            var crc = WalFormat.WriteSegmentHeader(header, sequence);
            RandomAccess.Write(handle, header, 0);
            if (options.PreallocateSegments)
            {
                for (long off = WalFormat.SegmentHeaderSizeBytes; off < options.SegmentSizeBytes; off += ZeroChunkBytes)
                {
                    cancel.ThrowIfCancellationRequested();
                    RandomAccess.Write(handle, s_zeros.AsSpan(0, (int)Math.Min(ZeroChunkBytes, options.SegmentSizeBytes - off)), off);
                    if (syncEachChunk) NativeFile.DataSync(handle);
                }
            }
            if (!syncEachChunk || !options.PreallocateSegments) NativeFile.DataSync(handle);
            complete = true;
            return crc;
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, CreateAction(options), tmp);
        }
        finally
        {
            handle?.Dispose();
            if (!complete) TryDelete(tmp);
        }
    }

    /// <summary>
    /// Puts the complete file <paramref name="tmp"/> (from <see cref="WriteSegmentFile"/>) in place as segment
    /// <paramref name="sequence"/>: rename, directory sync, open for writing. On failure the temporary file is deleted.
    /// </summary>
    private static (SafeFileHandle Handle, uint HeaderCrc) InstallSegmentFile(string directory, StorageOptions options, ulong sequence,
        string tmp, uint headerCrc)
    {
        var path = Path.Combine(directory, WalFormat.SegmentFileName(sequence));
        try
        {
            EnsureNoSegment(directory, sequence);
            File.Move(tmp, path);
            NativeFile.SyncDirectory(directory);
            // Open under the final name, so later errors name the file as it is on disk.
            return (File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete), headerCrc);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            TryDelete(tmp);
            throw IoErrors.Translate(e, CreateAction(options), tmp);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    private static void EnsureNoSegment(string directory, ulong sequence)
    {
        var path = Path.Combine(directory, WalFormat.SegmentFileName(sequence));
        if (File.Exists(path))
            throw new RaftInvariantException($"segment '{path}' already exists; the log's segment chain is inconsistent");
    }

    private static string CreateAction(StorageOptions options) => options.PreallocateSegments
        ? $"creating and preallocating a {options.SegmentSizeBytes}-byte log segment" : "creating a log segment";

    private static int ReadWholeFile(string path, StorageOptions options, ref byte[] buffer)
    {
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = RandomAccess.GetLength(handle);
            var limit = Math.Max(options.SegmentSizeBytes, StorageOptions.MaxSegmentSizeBytes);
            if (length > limit)
                throw new StorageCorruptException(path, limit, $"a segment of at most {limit} bytes", $"a file of {length} bytes");
            if (buffer.Length < length) buffer = GC.AllocateUninitializedArray<byte>((int)length);
            var read = 0;
            while (read < length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                if (n == 0) break;
                read += n;
            }
            return read;
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "reading log segment", path);
        }
    }

    /// <summary>An entry record's entry; its data is left out (empty) when its index is at or below <paramref name="coveredIndex"/>.</summary>
    private static Entry DecodeEntry(ReadOnlySpan<byte> payload, ulong coveredIndex)
    {
        var index = BinaryPrimitives.ReadUInt64LittleEndian(payload);
        var term = BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]);
        var type = (EntryType)payload[16];
        var data = payload[WalFormat.EntryPayloadHeaderBytes..];
        return new Entry(index, term, type, data.IsEmpty || index <= coveredIndex ? ReadOnlyMemory<byte>.Empty : data.ToArray());
    }

    private static HardState DecodeHardState(ReadOnlySpan<byte> p) =>
        new(BinaryPrimitives.ReadUInt64LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[8..]), BinaryPrimitives.ReadUInt64LittleEndian(p[16..]));

    private static void CreateDirectory(string directory)
    {
        try
        {
            DurableDirectory.Create(directory);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "creating directory", directory);
        }
    }

    private static void Delete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "deleting", path);
        }
    }

    /// <summary>Deletes <paramref name="path"/> if it can; a leftover temporary file is removed at the next open.</summary>
    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a leftover temporary file is removed at the next open.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }

    /// <summary>
    /// Stops the background preparation (waiting for it and deleting its file, so no thread touches the directory
    /// afterwards), syncs what was written without a sync (a commit-only hard state) and closes the active segment.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _pipeline.Dispose();
        try
        {
            if (_durableOffset < _fileOffset) NativeFile.DataSync(_active);
        }
        catch (IOException)
        {
            // Only unacknowledged data (a commit index) can be unsynced here; recovery copes with losing it.
        }
        _active.Dispose();
    }
}
