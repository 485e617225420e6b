using RaftKv.Raft.Storage.Files;
using RaftKv.Raft.Storage.Snapshots;
using RaftKv.Raft.Storage.Wal;

namespace RaftKv.Raft.Storage;

/// <summary>
/// A node's durable storage: a segmented write-ahead log of entries and hard state, snapshot files, and an
/// in-memory copy of the log that serves the core's reads (<see cref="IRaftStorage"/>).
/// </summary>
/// <remarks>
/// <para>Directory layout: <c>LOCK</c> (held while open), <c>wal/{sequence:D20}.wal</c> (log segments),
/// <c>snap/{index:D20}-{term:D20}.snap</c> (snapshots). The byte formats and recovery rules are in this project's
/// README.md.</para>
/// <para>Contract with the host, per <see cref="Ready"/>: call <see cref="Save(Ready)"/> (or
/// <see cref="Save(HardState?, IReadOnlyList{Entry}, Snapshot?, bool)"/>) once, before sending the Ready's messages.
/// It writes the snapshot (if any), then the entries (replacing any conflicting suffix from the first new index,
/// paper section 5.3), then the hard state, with one write call per batch where possible and one data sync. When it
/// returns, what it was given is durable and readable through <see cref="IRaftStorage"/>; nothing is readable before
/// it is durable. Take snapshots with <see cref="CreateSnapshot"/>; it also compacts the log.</para>
/// <para>Errors: <see cref="StorageLockedException"/> when the directory is in use, <see cref="StorageCorruptException"/>
/// when recovery finds damage (the node must not start), <see cref="StorageException"/> when a file cannot be written
/// (disk full, read-only). After a failed write every further write throws; reads keep serving what was durable.
/// Contract violations by the caller (a gap in the log, a term going back) throw <see cref="RaftInvariantException"/>
/// and change nothing.</para>
/// <para>Not thread-safe: use it from the node's thread, like the node itself; only <see cref="StageSnapshot"/> may run
/// on another thread meanwhile.</para>
/// </remarks>
public sealed class DurableStorage : IRaftLogStorage, IDisposable
{
    /// <summary>Subdirectory holding the write-ahead log segments.</summary>
    public const string WalDirectoryName = "wal";

    /// <summary>Subdirectory holding the snapshot files.</summary>
    public const string SnapshotDirectoryName = "snap";

    private const string StagedSuffix = ".staged" + SnapshotFileFormat.TemporaryExtension;

    // A staged snapshot is written beside a busy log: sync it a megabyte at a time (as the segment pipeline does).
    private const long StagingSyncEveryBytes = 1024 * 1024;

    private readonly SnapshotStore _snapshots;
    private readonly WriteAheadLog _wal;
    private readonly MemoryStorage _memory = new();
    // Directory syncs and deletions after a snapshot, off the node's thread (they cost a loaded disk 10-200 ms).
    private readonly FileReclaimer _reclaimer = new();
    private readonly StorageOptions _options;
    private Exception? _failure;
    private bool _disposed;
    private DirectoryLock? _lock;

    private DurableStorage(string directory, StorageOptions options, DirectoryLock directoryLock, SnapshotStore snapshots,
        WriteAheadLog wal, RecoveryReport report)
    {
        Directory = directory;
        _options = options;
        _lock = directoryLock;
        _snapshots = snapshots;
        _wal = wal;
        Recovery = report;
    }

    /// <summary>The data directory (full path).</summary>
    public string Directory { get; }

    /// <summary>What recovery found and repaired when this instance was opened.</summary>
    public RecoveryReport Recovery { get; }

    /// <inheritdoc />
    public HardState HardState => _memory.HardState;

    /// <inheritdoc />
    public ConfState? ConfState => _memory.ConfState;

    /// <inheritdoc />
    public ulong FirstIndex => _memory.FirstIndex;

    /// <inheritdoc />
    public ulong LastIndex => _memory.LastIndex;

    /// <inheritdoc />
    public Snapshot? Snapshot => _memory.Snapshot;

    /// <summary>Write-ahead log segment files currently on disk, oldest first.</summary>
    public IReadOnlyList<string> SegmentPaths => _wal.Segments.Select(s => s.Path).ToArray();

    /// <summary>Where the log is known durable: active segment and offset. For crash-simulation tests.</summary>
    internal (ulong Sequence, long OffsetBytes) DurablePosition => _wal.DurablePosition;

    /// <summary>
    /// Opens (creating if needed) the data directory, takes its lock, and recovers: loads the newest valid snapshot,
    /// reads and verifies every log segment, cuts off a torn last write, and rebuilds the in-memory log.
    /// </summary>
    /// <param name="directory">The node's data directory.</param>
    /// <param name="options">Limits and tuning; <see cref="StorageOptions.Default"/> when null.</param>
    /// <exception cref="StorageLockedException">Another process or instance holds the directory.</exception>
    /// <exception cref="StorageCorruptException">The data is damaged; the node must not start.</exception>
    /// <exception cref="StorageException">The directory cannot be created, read or written.</exception>
    public static DurableStorage Open(string directory, StorageOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= StorageOptions.Default;
        options.Validate();
        var full = Path.GetFullPath(directory);
        try
        {
            DurableDirectory.Create(full);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "creating data directory", full);
        }
        var directoryLock = DirectoryLock.Acquire(full);
        try
        {
            var report = new RecoveryReport();
            var snapshots = SnapshotStore.Open(Path.Combine(full, SnapshotDirectoryName), options, report);
            var wal = WriteAheadLog.Open(Path.Combine(full, WalDirectoryName), options, snapshots.Newest, report, out var hardState, out var entries);
            try
            {
                var storage = new DurableStorage(full, options, directoryLock, snapshots, wal, report);
                if (snapshots.Newest is { } snapshot) storage._memory.ApplySnapshot(snapshot);
                storage._memory.Append(entries);
                storage._memory.SetHardState(hardState);
                return storage;
            }
            catch
            {
                wal.Dispose();
                throw;
            }
        }
        catch
        {
            directoryLock.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public LogLookup TryGetTerm(ulong index, out ulong term) => _memory.TryGetTerm(index, out term);

    /// <inheritdoc />
    public LogLookup GetEntries(ulong low, ulong high, long maxBytes, List<Entry> into) => _memory.GetEntries(low, high, maxBytes, into);

    /// <summary>Persists step 1 of a <see cref="Ready"/>: its snapshot, entries and hard state. See the class remarks.</summary>
    public void Save(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        Save(ready.HardState, ready.Entries, ready.Snapshot, ready.MustSync);
    }

    /// <summary>
    /// Persists, in this order, <paramref name="snapshot"/> (a snapshot received from the leader: the log restarts
    /// after it), <paramref name="entries"/> (replacing the existing suffix from the first one's index; entries at or
    /// below the snapshot are ignored), and <paramref name="hardState"/>, then makes them durable with one data sync.
    /// </summary>
    /// <param name="hardState">The new hard state, or null when unchanged.</param>
    /// <param name="entries">Contiguous entries to append.</param>
    /// <param name="snapshot">A snapshot to install, or null.</param>
    /// <param name="mustSync">
    /// Whether to sync. A sync happens anyway when there are entries, a snapshot, or a new term or vote: those are
    /// readable through <see cref="IRaftStorage"/> afterwards and must be durable first. Only a commit-index-only
    /// change may skip the sync (losing it in a crash is harmless: the commit is learned again).
    /// </param>
    /// <exception cref="RaftInvariantException">The arguments break the log's rules; nothing was written.</exception>
    /// <exception cref="StorageException">Writing failed; this instance accepts no further writes.</exception>
    public void Save(HardState? hardState, IReadOnlyList<Entry> entries, Snapshot? snapshot, bool mustSync)
    {
        ArgumentNullException.ThrowIfNull(entries);
        EnsureWritable();
        var firstEntry = ValidateSave(hardState, entries, snapshot, out var termOrVoteChanged);
        var hasEntries = firstEntry < entries.Count;
        if (!hasEntries && snapshot is null && hardState is null) return;
        var sync = mustSync || hasEntries || snapshot is not null || termOrVoteChanged;
        Action? prune = null;
        FailPoints.Hit(FailPoint.WalBeforeSave);
        try
        {
            if (snapshot is not null) prune = _snapshots.Save(snapshot);
            _wal.Append(snapshot?.Metadata, entries, firstEntry, hardState, sync);
        }
        catch (Exception e) when (e is StorageException or IOException or UnauthorizedAccessException)
        {
            _failure = e;
            throw;
        }
        FailPoints.Hit(FailPoint.WalAfterSave);
        // Durable: now it may be read.
        if (snapshot is not null) _memory.ApplySnapshot(snapshot);
        if (hasEntries) _memory.Append(entries); // skips entries at or below the snapshot, as the log did
        if (hardState is { } hs) _memory.SetHardState(hs);
        if (prune is not null) _reclaimer.Enqueue(prune);
        if (snapshot is not null) ReleaseSegments();
    }

    /// <summary>
    /// Records a snapshot the state machine took at <paramref name="index"/> (applied, so committed and in the log):
    /// writes the snapshot file durably, syncs the log if a commit-only hard state is pending, compacts the in-memory
    /// log up to it, and deletes log segments that no retained snapshot needs. Returns the snapshot (its term is the
    /// entry's). Same as <see cref="StageSnapshot"/> then <see cref="PublishSnapshot"/> on this thread.
    /// </summary>
    /// <param name="index">Last index the snapshot includes.</param>
    /// <param name="confState">Membership as of <paramref name="index"/>.</param>
    /// <param name="data">The state machine's serialized state; owned by the storage afterwards (not copied).</param>
    public Snapshot CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(confState);
        EnsureWritable();
        var snapshotIndex = FirstIndex - 1;
        RaftInvariantException.Assert(index > snapshotIndex, $"snapshot at {index} is not newer than the current one at {snapshotIndex}");
        AssertSnapshotable(index);
        _memory.TryGetTerm(index, out var term);
        var published = PublishSnapshot(StageSnapshot(new SnapshotMetadata(index, term, confState), data));
        RaftInvariantException.Assert(published is not null, $"snapshot at {index} was not published");
        return published!;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Writes <c>snap/{index}-{term}.snap.staged.tmp</c> (synced every MiB, so the log's syncs do not queue behind a
    /// whole snapshot), reads it back and verifies it. A restart deletes
    /// the file if it was never published. A failure here (disk full) leaves the storage writable: nothing the log
    /// depends on was touched, so the host may try again later. Call <see cref="Dispose"/> only after it returned.
    /// </remarks>
    /// <exception cref="StorageException">The file cannot be written or does not read back as written.</exception>
    public StagedSnapshot StageSnapshot(SnapshotMetadata metadata, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        EnsureWritable();
        var snapshot = new Snapshot(metadata, data);
        return new DurableStagedSnapshot(this, snapshot, _snapshots.Stage(snapshot, StagedSuffix, StagingSyncEveryBytes));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Syncs the log first when a commit-only hard state is pending, so a snapshot on disk never covers more than
    /// the durable commit index says is committed; then renames the staged file into place and syncs the directory.
    /// </remarks>
    public Snapshot? PublishSnapshot(StagedSnapshot staged)
    {
        var durable = Owned(staged);
        EnsureWritable();
        var metadata = staged.Snapshot.Metadata;
        if (metadata.Index < FirstIndex)
        {
            SnapshotStore.Discard(durable.Path);
            return null;
        }
        try
        {
            AssertSnapshotable(metadata.Index);
            _memory.TryGetTerm(metadata.Index, out var term);
            RaftInvariantException.Assert(term == metadata.Term, $"staged snapshot at {metadata.Index} has term {metadata.Term}, the log holds term {term} there");
        }
        catch (RaftInvariantException)
        {
            SnapshotStore.Discard(durable.Path);
            throw;
        }
        Action prune;
        try
        {
            _wal.Sync();
            prune = _snapshots.Adopt(staged.Snapshot, _snapshots.MoveIntoPlace(staged.Snapshot, durable.Path));
        }
        catch (StorageException e)
        {
            _failure = e;
            throw;
        }
        var created = _memory.CreateSnapshot(metadata.Index, metadata.ConfState, staged.Snapshot.Data);
        // The rename becomes durable off this thread, before anything the snapshot covers is deleted: a crash
        // before that leaves the old snapshot and the whole log, which is as good.
        _reclaimer.Enqueue(_snapshots.SyncDirectory);
        _reclaimer.Enqueue(prune);
        ReleaseSegments();
        return created;
    }

    /// <inheritdoc />
    public void DiscardSnapshot(StagedSnapshot staged) => SnapshotStore.Discard(Owned(staged).Path);

    private void AssertSnapshotable(ulong index)
    {
        RaftInvariantException.Assert(index <= LastIndex, $"snapshot at {index} is beyond the last index {LastIndex}");
        RaftInvariantException.Assert(index <= HardState.Commit,
            $"snapshot at {index} is beyond the commit index {HardState.Commit}: only applied state may be snapshotted");
    }

    private DurableStagedSnapshot Owned(StagedSnapshot staged)
    {
        ArgumentNullException.ThrowIfNull(staged);
        if (staged is not DurableStagedSnapshot durable || !ReferenceEquals(durable.Owner, this))
            throw new ArgumentException("the snapshot was not staged by this storage", nameof(staged));
        return durable;
    }

    /// <summary>A snapshot staged in a temporary file of this storage's snapshot directory.</summary>
    private sealed class DurableStagedSnapshot(DurableStorage owner, Snapshot snapshot, string path) : StagedSnapshot(snapshot)
    {
        public DurableStorage Owner { get; } = owner;

        public string Path { get; } = path;
    }

    /// <summary>Waits until the file housekeeping queued so far (syncs, deletions after snapshots) has run. For tests.</summary>
    internal void DrainHousekeeping() => _reclaimer.Drain();

    /// <summary>
    /// Waits for the file housekeeping queued so far, syncs anything not yet synced (a commit index), closes the
    /// files and releases the lock.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _reclaimer.Dispose();
        _wal.Dispose();
        _lock?.Dispose();
        _lock = null;
    }

    private void ReleaseSegments()
    {
        // Keep the log back to the oldest retained snapshot, so a damaged newest snapshot can be skipped at restart.
        var released = _wal.DetachSegments(_snapshots.OldestRetainedIndex ?? 0);
        if (released.Count == 0) return;
        var directory = _wal.DirectoryPath;
        _reclaimer.Enqueue(() => WriteAheadLog.DeleteSegments(directory, released));
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is null && _reclaimer.Failure is { } reclaim) _failure = reclaim;
        if (_failure is not null)
            throw new StorageException($"storage in '{Directory}' failed earlier and accepts no more writes ({_failure.Message}); dispose it and reopen",
                Directory, (_failure as StorageException)?.ErrorCode, _failure);
    }

    /// <summary>Checks a save against the log's rules before anything is written. Returns the first entry to write.</summary>
    private int ValidateSave(HardState? hardState, IReadOnlyList<Entry> entries, Snapshot? snapshot, out bool termOrVoteChanged)
    {
        var current = _memory.HardState;
        var baseIndex = FirstIndex - 1;
        var lastIndex = LastIndex;
        if (snapshot is not null)
        {
            RaftInvariantException.Assert(snapshot.Index > baseIndex, $"snapshot {snapshot.Index} is not newer than {baseIndex}");
            if (snapshot.Data.Length > _options.MaxSnapshotSizeBytes)
                throw new ArgumentException($"snapshot data is {snapshot.Data.Length} bytes, above MaxSnapshotSizeBytes ({_options.MaxSnapshotSizeBytes})", nameof(snapshot));
            baseIndex = snapshot.Index;
            lastIndex = snapshot.Index;
        }
        var first = 0;
        while (first < entries.Count && entries[first].Index <= baseIndex) first++;
        var maxData = _options.MaxRecordSizeBytes - WalFormat.EntryPayloadHeaderBytes;
        for (var i = first; i < entries.Count; i++)
        {
            var e = entries[i];
            if (i > first)
                RaftInvariantException.Assert(e.Index == entries[i - 1].Index + 1, $"entries to save are not contiguous at {e.Index}");
            if (e.Data.Length > maxData)
                throw new ArgumentException($"entry {e.Index} has {e.Data.Length} data bytes, above the limit of {maxData} (MaxRecordSizeBytes minus {WalFormat.EntryPayloadHeaderBytes})", nameof(entries));
        }
        if (first < entries.Count)
        {
            var from = entries[first].Index;
            RaftInvariantException.Assert(from <= lastIndex + 1, $"save leaves a gap: the log ends at {lastIndex}, new entries start at {from}");
            if (snapshot is null && from <= lastIndex && from <= current.Commit)
            {
                _memory.TryGetTerm(from, out var existing);
                RaftInvariantException.Assert(existing == entries[first].Term,
                    $"entry {from} (term {entries[first].Term}) would replace committed entry of term {existing} (commit {current.Commit})");
            }
            lastIndex = entries[^1].Index;
        }
        termOrVoteChanged = false;
        if (hardState is { } hs)
        {
            RaftInvariantException.Assert(hs.Term >= current.Term, $"hard state term goes back from {current.Term} to {hs.Term}");
            RaftInvariantException.Assert(hs.Term > current.Term || current.Vote == RaftNode.None || hs.Vote == current.Vote,
                $"vote changes from {current.Vote} to {hs.Vote} within term {hs.Term}");
            RaftInvariantException.Assert(hs.Commit >= current.Commit, $"hard state commit goes back from {current.Commit} to {hs.Commit}");
            RaftInvariantException.Assert(hs.Commit <= lastIndex, $"hard state commit {hs.Commit} is beyond the last index {lastIndex}");
            termOrVoteChanged = hs.Term != current.Term || hs.Vote != current.Vote;
        }
        return first;
    }
}
