using RaftKv.Raft.Storage.Wal;

namespace RaftKv.Raft.Storage;

/// <summary>Limits and tuning of a <see cref="DurableStorage"/>. Call <see cref="Validate"/> (open does) before use.</summary>
public sealed record StorageOptions
{
    /// <summary>Smallest allowed <see cref="SegmentSizeBytes"/>.</summary>
    public const long MinSegmentSizeBytes = 4 * 1024;

    /// <summary>Largest allowed <see cref="SegmentSizeBytes"/> (recovery reads a whole segment into memory).</summary>
    public const long MaxSegmentSizeBytes = 256L * 1024 * 1024;

    /// <summary>Smallest allowed <see cref="MaxRecordSizeBytes"/>.</summary>
    public const int MinRecordSizeBytes = 64;

    /// <summary>The defaults: 64 MiB preallocated segments, 16 MiB records, 1 GiB snapshots, two snapshots kept.</summary>
    public static StorageOptions Default { get; } = new();

    /// <summary>
    /// Size of one write-ahead log segment file. A segment is closed and a new one started when the next record
    /// does not fit. Segments are preallocated to this size when <see cref="PreallocateSegments"/> is set.
    /// </summary>
    public long SegmentSizeBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Largest record payload: for an entry, its data plus 17 bytes (index, term, type). Larger entries are refused
    /// with an <see cref="ArgumentException"/> before anything is written. Must fit in an empty segment.
    /// </summary>
    public int MaxRecordSizeBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Largest entry data the log takes: <see cref="MaxRecordSizeBytes"/> less the entry's own header.</summary>
    public int MaxEntryDataBytes => MaxRecordSizeBytes - WalFormat.EntryPayloadHeaderBytes;

    /// <summary>
    /// Bytes encoded before a write system call is issued. A batch smaller than this is written with one call.
    /// A record larger than this gets a buffer of its own.
    /// </summary>
    public int WriteBufferSizeBytes { get; init; } = 1024 * 1024;

    /// <summary>Largest snapshot data accepted on write and on read.</summary>
    public long MaxSnapshotSizeBytes { get; init; } = 1024L * 1024 * 1024;

    /// <summary>
    /// Valid snapshot files kept (at least 1). With 2 or more, the log is kept back to the oldest retained snapshot,
    /// so a damaged newest snapshot can be skipped at restart and the node recovers from the older one plus the log.
    /// </summary>
    public int SnapshotsToRetain { get; init; } = 2;

    /// <summary>
    /// Fill each new segment with zeros up front (written and synced once), so appends overwrite allocated blocks and
    /// a data sync needs no metadata update. When false, segments grow with each append.
    /// </summary>
    public bool PreallocateSegments { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        if (SegmentSizeBytes is < MinSegmentSizeBytes or > MaxSegmentSizeBytes)
            throw new ArgumentException($"SegmentSizeBytes must be in [{MinSegmentSizeBytes}, {MaxSegmentSizeBytes}], was {SegmentSizeBytes}", nameof(SegmentSizeBytes));
        if (MaxRecordSizeBytes < MinRecordSizeBytes || MaxRecordSizeBytes > WalFormat.MaxPayloadBytes)
            throw new ArgumentException($"MaxRecordSizeBytes must be in [{MinRecordSizeBytes}, {WalFormat.MaxPayloadBytes}], was {MaxRecordSizeBytes}", nameof(MaxRecordSizeBytes));
        var needed = WalFormat.EmptySegmentOverheadBytes + WalFormat.FrameHeaderSizeBytes + (long)MaxRecordSizeBytes;
        if (needed > SegmentSizeBytes)
            throw new ArgumentException(
                $"MaxRecordSizeBytes ({MaxRecordSizeBytes}) does not fit in an empty segment: it needs {needed} bytes with headers, SegmentSizeBytes is {SegmentSizeBytes}",
                nameof(MaxRecordSizeBytes));
        if (WriteBufferSizeBytes is < 4096 or > 64 * 1024 * 1024)
            throw new ArgumentException($"WriteBufferSizeBytes must be in [4096, {64 * 1024 * 1024}], was {WriteBufferSizeBytes}", nameof(WriteBufferSizeBytes));
        if (MaxSnapshotSizeBytes < 0 || MaxSnapshotSizeBytes > Array.MaxLength)
            throw new ArgumentException($"MaxSnapshotSizeBytes must be in [0, {Array.MaxLength}], was {MaxSnapshotSizeBytes}", nameof(MaxSnapshotSizeBytes));
        if (SnapshotsToRetain is < 1 or > 64)
            throw new ArgumentException($"SnapshotsToRetain must be in [1, 64], was {SnapshotsToRetain}", nameof(SnapshotsToRetain));
    }
}
