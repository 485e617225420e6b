namespace RaftKv.Raft.Storage.Wal;

/// <summary>What the log knows about one segment file: enough to decide when it can be deleted.</summary>
internal sealed class SegmentInfo(ulong sequence, string path)
{
    /// <summary>Position in the chain of segments (from the file name, checked against the header).</summary>
    public ulong Sequence { get; } = sequence;

    /// <summary>Full path of the file.</summary>
    public string Path { get; } = path;

    /// <summary>Highest entry index written to this segment (0 when none).</summary>
    public ulong MaxEntryIndex { get; set; }
}
