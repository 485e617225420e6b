using RaftKv.Raft.Storage.Files;

namespace RaftKv.Raft.Storage.Snapshots;

/// <summary>
/// Snapshot files in one directory: each written to a temporary file, synced, read back and verified, renamed into
/// place atomically and the directory synced, so a crash leaves the old set or the new one, never half a file.
/// At open the newest valid snapshot is loaded; invalid ones are reported and skipped. Not thread-safe, except
/// <see cref="Stage"/>, <see cref="SyncDirectory"/> and the pruning jobs <see cref="Save"/> and <see cref="Adopt"/>
/// return.
/// </summary>
internal sealed class SnapshotStore
{
    private readonly string _directory;
    private readonly StorageOptions _options;

    // Valid snapshot files kept on disk, oldest first.
    private readonly List<(ulong Index, ulong Term, string Path)> _retained;

    private SnapshotStore(string directory, StorageOptions options, List<(ulong, ulong, string)> retained, Snapshot? newest)
    {
        _directory = directory;
        _options = options;
        _retained = retained;
        Newest = newest;
    }

    /// <summary>The newest valid snapshot (with its data), or null when there is none.</summary>
    public Snapshot? Newest { get; private set; }

    /// <summary>Index of the oldest snapshot kept: the log must reach back to it. Null when there is none.</summary>
    public ulong? OldestRetainedIndex => _retained.Count > 0 ? _retained[0].Index : null;

    /// <summary>Paths of the snapshot files kept, oldest first.</summary>
    public IEnumerable<string> RetainedPaths => _retained.Select(r => r.Path);

    /// <summary>
    /// Opens the directory (creating it), removes leftover temporary files and loads the newest valid snapshot. With
    /// <paramref name="readOnly"/> it changes nothing on disk (a missing directory holds no snapshot, temporary files
    /// stay) and the newest snapshot is verified but its data not kept (in constant memory): for offline inspection
    /// (<see cref="StoredLog"/>).
    /// </summary>
    public static SnapshotStore Open(string directory, StorageOptions options, RecoveryReport report, bool readOnly = false)
    {
        if (readOnly && !Directory.Exists(directory)) return new SnapshotStore(directory, options, [], null);
        if (!readOnly) PrepareDirectory(directory, report);
        return Load(directory, options, report, loadData: !readOnly);
    }

    private static void PrepareDirectory(string directory, RecoveryReport report)
    {
        try
        {
            DurableDirectory.Create(directory);
            foreach (var tmp in Directory.EnumerateFiles(directory, "*" + SnapshotFileFormat.TemporaryExtension))
            {
                File.Delete(tmp);
                report.AddRemovedTemporaryFile(tmp);
            }
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "preparing the snapshot directory", directory);
        }
    }

    private static SnapshotStore Load(string directory, StorageOptions options, RecoveryReport report, bool loadData)
    {
        var candidates = new List<(ulong Index, ulong Term, string Path)>();
        foreach (var file in Directory.EnumerateFiles(directory, "*" + SnapshotFileFormat.Extension))
        {
            if (SnapshotFileFormat.TryParseFileName(Path.GetFileName(file), out var index, out var term)) candidates.Add((index, term, file));
        }
        candidates.Sort((a, b) => b.Index != a.Index ? b.Index.CompareTo(a.Index) : b.Term.CompareTo(a.Term)); // newest first
        Snapshot? newest = null;
        var retained = new List<(ulong, ulong, string)>();
        foreach (var (index, term, path) in candidates)
        {
            try
            {
                var snapshot = SnapshotFileFormat.Read(path, options.MaxSnapshotSizeBytes, loadData: loadData && newest is null);
                if (snapshot.Index != index || snapshot.Term != term)
                    throw new InvalidSnapshotException($"the header says index {snapshot.Index} term {snapshot.Term}, the file name index {index} term {term}");
                newest ??= snapshot;
                retained.Insert(0, (index, term, path));
            }
            catch (InvalidSnapshotException e)
            {
                report.AddSkippedSnapshot(new SkippedSnapshot(path, e.Message));
            }
            catch (Exception e) when (IoErrors.IsIoFailure(e))
            {
                report.AddSkippedSnapshot(new SkippedSnapshot(path, $"unreadable: {e.Message}"));
            }
        }
        return new SnapshotStore(directory, options, retained, newest);
    }

    /// <summary>
    /// Writes <paramref name="snapshot"/> durably (see the class remarks) and makes it the newest. Returns the job
    /// that deletes older snapshot files beyond <see cref="StorageOptions.SnapshotsToRetain"/>, to run off the
    /// caller's thread.
    /// </summary>
    public Action Save(Snapshot snapshot)
    {
        var staged = Stage(snapshot, SnapshotFileFormat.TemporaryExtension, syncEveryBytes: long.MaxValue);
        var path = MoveIntoPlace(snapshot, staged);
        SyncDirectory();
        return Adopt(snapshot, path);
    }

    /// <summary>
    /// Writes <paramref name="snapshot"/> to a temporary file (its final name plus <paramref name="temporarySuffix"/>,
    /// which must end in <see cref="SnapshotFileFormat.TemporaryExtension"/> so a restart deletes it), syncs it, reads
    /// it back and verifies it. Returns the temporary path. Touches no state of this instance: thread-safe.
    /// </summary>
    /// <param name="snapshot">What to write.</param>
    /// <param name="temporarySuffix">Appended to the final name; ends in the temporary extension.</param>
    /// <param name="syncEveryBytes">
    /// Sync after each this many bytes, not only at the end: a background writer then never has a whole snapshot of
    /// writeback queued in front of the log's own syncs (which share the disk and, on ext4, the journal).
    /// </param>
    public string Stage(Snapshot snapshot, string temporarySuffix, long syncEveryBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(syncEveryBytes);
        RaftInvariantException.Assert(temporarySuffix.EndsWith(SnapshotFileFormat.TemporaryExtension, StringComparison.Ordinal),
            $"temporary suffix '{temporarySuffix}' does not end in {SnapshotFileFormat.TemporaryExtension}");
        if (snapshot.Data.Length > _options.MaxSnapshotSizeBytes)
            throw new ArgumentException($"snapshot data is {snapshot.Data.Length} bytes, above MaxSnapshotSizeBytes ({_options.MaxSnapshotSizeBytes})", nameof(snapshot));
        var conf = snapshot.Metadata.ConfState;
        if (conf.Voters.Count + conf.Learners.Count + conf.VotersOutgoing.Count > SnapshotFileFormat.MaxVoters)
            throw new ArgumentException($"snapshot membership has {conf.Voters.Count + conf.Learners.Count + conf.VotersOutgoing.Count} ids, above {SnapshotFileFormat.MaxVoters}", nameof(snapshot));
        var tmp = FinalPath(snapshot) + temporarySuffix;
        try
        {
            File.Delete(tmp);
            var header = SnapshotFileFormat.EncodeHeader(snapshot);
            using (var handle = File.OpenHandle(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete))
            {
                RandomAccess.Write(handle, header, 0);
                FailPoints.Hit(FailPoint.SnapshotDuringStage);
                var data = snapshot.Data.Span;
                for (var written = 0; written < data.Length;)
                {
                    var chunk = (int)Math.Min(syncEveryBytes, data.Length - written);
                    RandomAccess.Write(handle, data.Slice(written, chunk), header.Length + written);
                    written += chunk;
                    if (written < data.Length) NativeFile.DataSync(handle);
                }
                NativeFile.DataSync(handle);
            }
            // Read back what the file system holds and verify it before it can replace anything.
            SnapshotFileFormat.Read(tmp, _options.MaxSnapshotSizeBytes, loadData: false);
            return tmp;
        }
        catch (InvalidSnapshotException e)
        {
            TryDelete(tmp);
            throw new StorageException($"snapshot '{tmp}' did not verify after writing ({e.Message}); the disk or memory may be failing", tmp);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            TryDelete(tmp);
            throw IoErrors.Translate(e, "writing snapshot", tmp);
        }
    }

    /// <summary>
    /// Renames a file written by <see cref="Stage"/> into place; the rename is durable only after
    /// <see cref="SyncDirectory"/>. Until then a crash leaves the old set of files or the new one. Returns the path.
    /// </summary>
    public string MoveIntoPlace(Snapshot snapshot, string stagedPath)
    {
        var path = FinalPath(snapshot);
        FailPoints.Hit(FailPoint.SnapshotBeforePublish);
        try
        {
            File.Move(stagedPath, path, overwrite: true);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            TryDelete(stagedPath);
            throw IoErrors.Translate(e, "publishing snapshot", path);
        }
        FailPoints.Hit(FailPoint.SnapshotAfterPublish);
        return path;
    }

    /// <summary>Makes renames into the directory durable. Thread-safe (touches no state).</summary>
    public void SyncDirectory()
    {
        try
        {
            NativeFile.SyncDirectory(_directory);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "syncing the snapshot directory", _directory);
        }
    }

    /// <summary>
    /// Makes the snapshot at <paramref name="path"/> (in place) the newest and drops the oldest retained ones beyond
    /// the limit. Returns the job that deletes the dropped files and any other snapshot file older than it: run it
    /// after <see cref="SyncDirectory"/>, off the caller's thread if it likes (it touches no state).
    /// </summary>
    public Action Adopt(Snapshot snapshot, string path)
    {
        _retained.RemoveAll(r => r.Index == snapshot.Index);
        _retained.Add((snapshot.Index, snapshot.Term, path));
        _retained.Sort((a, b) => a.Index.CompareTo(b.Index));
        Newest = snapshot;
        while (_retained.Count > _options.SnapshotsToRetain) _retained.RemoveAt(0);
        var keep = _retained.Select(r => r.Path).ToHashSet(StringComparer.Ordinal);
        var newestIndex = snapshot.Index;
        return () => Prune(keep, newestIndex);
    }

    /// <summary>Deletes a staged file that will not be published; ignores one already gone.</summary>
    public static void Discard(string stagedPath) => TryDelete(stagedPath);

    private string FinalPath(Snapshot snapshot) => Path.Combine(_directory, SnapshotFileFormat.FileName(snapshot.Index, snapshot.Term));

    /// <summary>Deletes every snapshot file older than <paramref name="newestIndex"/> but those in <paramref name="keep"/>.</summary>
    private void Prune(HashSet<string> keep, ulong newestIndex)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(_directory, "*" + SnapshotFileFormat.Extension))
            {
                if (keep.Contains(file)) continue;
                if (SnapshotFileFormat.TryParseFileName(Path.GetFileName(file), out var index, out _) && index < newestIndex) File.Delete(file);
            }
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "deleting old snapshots in", _directory);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Removed at the next open.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
