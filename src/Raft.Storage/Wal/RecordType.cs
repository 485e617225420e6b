namespace RaftKv.Raft.Storage.Wal;

/// <summary>What a write-ahead log record holds. Zero is never valid, so zero-filled space never parses as a record.</summary>
internal enum RecordType : byte
{
    /// <summary>One log entry: index, term, entry type, data.</summary>
    Entry = 1,

    /// <summary>The hard state (term, vote, commit). The last one read wins.</summary>
    HardState = 2,

    /// <summary>
    /// A snapshot (index, term) was installed here: the log restarts after it (everything before, and any entries
    /// after it that were written earlier, are superseded). The snapshot file was durable before this was written.
    /// </summary>
    SnapshotMarker = 3,
}
