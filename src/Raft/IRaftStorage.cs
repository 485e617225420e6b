namespace RaftKv.Raft;

/// <summary>The outcome of a log lookup. Expected conditions, not errors.</summary>
public enum LogLookup : byte
{
    /// <summary>The value was found.</summary>
    Ok = 0,
    /// <summary>The index is below the first available entry: it was compacted into a snapshot.</summary>
    Compacted = 1,
    /// <summary>The index is beyond the last entry.</summary>
    Unavailable = 2,
}

/// <summary>
/// Read access to the <em>persisted</em> state of one node: what the core reads when it needs stable entries.
/// </summary>
/// <remarks>
/// <para>Contract. The host writes to storage only when it handles a <see cref="Ready"/> (entries, hard state,
/// snapshot) and when it compacts; the core only reads. All calls happen on the node's one thread.</para>
/// <para>Indexes: entries <c>[FirstIndex, LastIndex]</c> are readable; the term of <c>FirstIndex - 1</c> is readable
/// too (it is the snapshot's, or 0 for an empty log). An empty log has <c>FirstIndex = 1, LastIndex = 0</c>.</para>
/// <para>Everything returned must already be durable: a restarted node trusts it as a promise it made. The one
/// exception is <see cref="HardState"/>'s commit index, which may be ahead of what is durable (see
/// <see cref="IRaftLogStorage"/>).</para>
/// </remarks>
public interface IRaftStorage
{
    /// <summary>The persisted term, vote and commit.</summary>
    HardState HardState { get; }

    /// <summary>Membership as of the latest snapshot, or null when there is none (the config's voters apply).</summary>
    ConfState? ConfState { get; }

    /// <summary>Index of the first entry still available (snapshot index + 1).</summary>
    ulong FirstIndex { get; }

    /// <summary>Index of the last entry (the snapshot's index when the log after it is empty).</summary>
    ulong LastIndex { get; }

    /// <summary>Term of the entry at <paramref name="index"/>, for index in <c>[FirstIndex - 1, LastIndex]</c>.</summary>
    LogLookup TryGetTerm(ulong index, out ulong term);

    /// <summary>
    /// Appends entries <c>[low, high)</c> to <paramref name="into"/>, stopping once their total size exceeds
    /// <paramref name="maxBytes"/> (but always at least one entry when any exist).
    /// </summary>
    LogLookup GetEntries(ulong low, ulong high, long maxBytes, List<Entry> into);

    /// <summary>The latest snapshot, or null when the log has never been compacted.</summary>
    Snapshot? Snapshot { get; }
}
