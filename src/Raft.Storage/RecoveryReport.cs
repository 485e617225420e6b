namespace RaftKv.Raft.Storage;

/// <summary>A torn last write found and cut off at open: an append that was interrupted by a crash.</summary>
/// <param name="FilePath">The last segment.</param>
/// <param name="OffsetBytes">Where the first incomplete record starts; everything from here on was discarded.</param>
/// <param name="DiscardedBytes">Non-zero bytes found from <paramref name="OffsetBytes"/> on (all zeroed or cut).</param>
/// <param name="Reason">Why the record counts as torn rather than corrupt.</param>
public sealed record TornTail(string FilePath, long OffsetBytes, long DiscardedBytes, string Reason);

/// <summary>A snapshot file that failed validation at open and was not used.</summary>
/// <param name="FilePath">The snapshot file.</param>
/// <param name="Reason">What was wrong with it.</param>
public sealed record SkippedSnapshot(string FilePath, string Reason);

/// <summary>What <see cref="DurableStorage.Open"/> found and repaired. Worth logging at every start.</summary>
public sealed class RecoveryReport
{
    private readonly List<SkippedSnapshot> _skippedSnapshots = [];
    private readonly List<string> _removedTemporaryFiles = [];
    private readonly List<string> _notes = [];

    /// <summary>Write-ahead log segments read.</summary>
    public int SegmentsRead { get; internal set; }

    /// <summary>Records read and verified across all segments.</summary>
    public long RecordsRead { get; internal set; }

    /// <summary>Index of the snapshot the log continues from, or null when none was found.</summary>
    public ulong? SnapshotIndex { get; internal set; }

    /// <summary>The torn last write that was cut off, or null when the log ended cleanly.</summary>
    public TornTail? TornTail { get; internal set; }

    /// <summary>Snapshot files that were invalid and skipped (they stay on disk for inspection).</summary>
    public IReadOnlyList<SkippedSnapshot> SkippedSnapshots => _skippedSnapshots;

    /// <summary>Leftover temporary files of interrupted snapshot or segment writes, deleted at open.</summary>
    public IReadOnlyList<string> RemovedTemporaryFiles => _removedTemporaryFiles;

    /// <summary>Other facts worth a log line (for example, entries dropped because a snapshot superseded them).</summary>
    public IReadOnlyList<string> Notes => _notes;

    internal void AddSkippedSnapshot(SkippedSnapshot skipped) => _skippedSnapshots.Add(skipped);

    internal void AddRemovedTemporaryFile(string path) => _removedTemporaryFiles.Add(path);

    internal void AddNote(string note) => _notes.Add(note);

    /// <inheritdoc />
    public override string ToString()
    {
        var s = $"segments={SegmentsRead} records={RecordsRead} snapshot={SnapshotIndex?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}";
        if (TornTail is { } t) s += $" torn-tail={t.FilePath}@{t.OffsetBytes} ({t.Reason})";
        if (_skippedSnapshots.Count > 0) s += $" skipped-snapshots={_skippedSnapshots.Count}";
        if (_removedTemporaryFiles.Count > 0) s += $" removed-temp-files={_removedTemporaryFiles.Count}";
        return s;
    }
}
