namespace RaftKv.Raft;

/// <summary>What an entry carries.</summary>
public enum EntryType : byte
{
    /// <summary>An application command (or, with empty data, the no-op a new leader appends, paper section 8).</summary>
    Normal = 0,
    /// <summary>
    /// A configuration change (thesis chapter 4): the data is a <see cref="Raft.ConfChange"/> in its
    /// <see cref="Raft.ConfChange.Encode"/> form. The application applies it with <see cref="RaftNode.ApplyConfChange"/>.
    /// </summary>
    ConfChange = 1,
}

/// <summary>One log entry. Immutable; the data is owned by the entry once it is in the log.</summary>
/// <param name="Index">Position in the log, starting at 1.</param>
/// <param name="Term">Term of the leader that created the entry.</param>
/// <param name="Type">What the entry carries.</param>
/// <param name="Data">The command bytes; empty for a leader's no-op.</param>
public readonly record struct Entry(ulong Index, ulong Term, EntryType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Bytes this entry counts against size limits (payload plus a fixed header estimate).</summary>
    public long SizeBytes => Data.Length + EntryOverheadBytes;

    /// <summary>Fixed per-entry size used by limits, so empty entries are not free.</summary>
    public const int EntryOverheadBytes = 24;

    /// <inheritdoc />
    public override string ToString() => $"{Term}/{Index} {Type} {Data.Length}B";
}
