using RaftKv.Raft.Storage.Files;
using RaftKv.Raft.Storage.Snapshots;
using RaftKv.Raft.Storage.Wal;

namespace RaftKv.Raft.Storage;

/// <summary>
/// What a stopped node's data directory holds, read offline with the same recovery code as
/// <see cref="DurableStorage.Open"/> (snapshot choice, segment verification, replay, join to the snapshot) but
/// changing no file: the log after the newest valid snapshot, and the last hard state. For inspection tools (etcd's
/// robustness suite reads its members' WALs to learn which lost writes were committed).
/// </summary>
/// <remarks>
/// The directory lock is taken while reading, so a running node's directory is refused rather than read half-written;
/// the lock file is the only thing written (created if missing, with this process's pid). A torn last write, which
/// <see cref="DurableStorage.Open"/> would cut off, is left on disk and reported in <see cref="Recovery"/>. Like the
/// storage, the whole log since the snapshot is held in memory.
/// </remarks>
public sealed class StoredLog
{
    private StoredLog(string directory, SnapshotMetadata? snapshot, HardState hardState, IReadOnlyList<Entry> entries, RecoveryReport recovery)
    {
        Directory = directory;
        Snapshot = snapshot;
        HardState = hardState;
        Entries = entries;
        Recovery = recovery;
    }

    /// <summary>The data directory (full path).</summary>
    public string Directory { get; }

    /// <summary>The snapshot the log continues after, or null when the log starts at index 1.</summary>
    public SnapshotMetadata? Snapshot { get; }

    /// <summary>The last hard state recorded (empty when none was).</summary>
    public HardState HardState { get; }

    /// <summary>The entries after <see cref="Snapshot"/>, contiguous, in index order; some may be above the commit index.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>What reading found: segments and records read, the torn tail left in place, skipped snapshots, notes.</summary>
    public RecoveryReport Recovery { get; }

    /// <summary>
    /// Reads the node's data directory <paramref name="directory"/> (the one given to <see cref="DurableStorage.Open"/>).
    /// </summary>
    /// <param name="directory">An existing data directory.</param>
    /// <param name="options">Limits (the node's own, for the same verdicts); <see cref="StorageOptions.Default"/> when null.</param>
    /// <exception cref="StorageLockedException">The directory is in use (the node runs).</exception>
    /// <exception cref="StorageCorruptException">The data is damaged; the message names the file and byte offset.</exception>
    /// <exception cref="StorageException">The directory does not exist or cannot be read.</exception>
    public static StoredLog Read(string directory, StorageOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= StorageOptions.Default;
        options.Validate();
        var full = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(full)) throw new StorageException($"data directory '{full}' does not exist", full);
        using var directoryLock = DirectoryLock.Acquire(full);
        var report = new RecoveryReport();
        try
        {
            var snapshots = SnapshotStore.Open(Path.Combine(full, DurableStorage.SnapshotDirectoryName), options, report, readOnly: true);
            var (hardState, entries) = WriteAheadLog.ReadOnly(Path.Combine(full, DurableStorage.WalDirectoryName), options, snapshots.Newest, report);
            return new StoredLog(full, snapshots.Newest?.Metadata, hardState, entries, report);
        }
        catch (Exception e) when (IoErrors.IsIoFailure(e))
        {
            throw IoErrors.Translate(e, "reading the data directory", full);
        }
    }
}
