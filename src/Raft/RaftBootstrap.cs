namespace RaftKv.Raft;

/// <summary>
/// Starts a brand-new cluster with its initial configuration in the log, as etcd does: entries 1..n are committed
/// <see cref="EntryType.ConfChange"/> entries, each adding one voter, instead of <see cref="RaftConfig.Voters"/>.
/// A member added later starts with an empty log and <see cref="ConfState.Empty"/>, and learns the whole
/// configuration history (with every member's <see cref="ConfChange.Context"/>) by replaying the log from index 1, or
/// from a snapshot that includes it.
/// </summary>
/// <remarks>
/// <para>How to use it: every initial member writes the identical entries (same ids in the same order, same
/// contexts) and <see cref="InitialHardState"/> into its <em>empty</em> storage before it creates its node, and leaves
/// <see cref="RaftConfig.Voters"/> empty. Entries that differ between members would break log matching (the same
/// index and term with different data), so build them from one shared list. Never bootstrap storage that already
/// holds a log, and never bootstrap a member that joins an existing cluster: it starts empty.</para>
/// <para>What happens next: the node starts in <see cref="ConfState.Empty"/>; its first <see cref="Ready"/> carries
/// entries 1..n as <see cref="Ready.CommittedEntries"/>, which the application applies like any other configuration
/// change (<see cref="RaftNode.ApplyConfChange"/>, and its state machine sees them). Only then is the node a voter
/// that may campaign. The entries are of term 1 and a leader is elected at term 2 or later, so they are never
/// overwritten.</para>
/// </remarks>
public static class RaftBootstrap
{
    /// <summary>The term of the bootstrap entries.</summary>
    public const ulong InitialTerm = 1;

    /// <summary>
    /// Entries 1..n, term 1, each an <see cref="ConfChangeType.AddVoter"/> of one of <paramref name="voters"/> (in the
    /// given order) carrying its context.
    /// </summary>
    /// <param name="voters">The initial voters: at least one, distinct non-zero ids, contexts of at most <see cref="ConfChange.MaxContextBytes"/>.</param>
    /// <exception cref="ArgumentException">The list is empty, an id is 0 or repeated, or a context is too long.</exception>
    public static IReadOnlyList<Entry> InitialEntries(IReadOnlyList<(ulong Id, ReadOnlyMemory<byte> Context)> voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        if (voters.Count == 0) throw new ArgumentException("a cluster needs at least one voter", nameof(voters));
        var seen = new HashSet<ulong>();
        var entries = new Entry[voters.Count];
        for (var i = 0; i < voters.Count; i++)
        {
            var (id, context) = voters[i];
            if (id == RaftNode.None) throw new ArgumentException("node id 0 is reserved for 'none'", nameof(voters));
            if (!seen.Add(id)) throw new ArgumentException($"node {id} appears twice", nameof(voters));
            if (context.Length > ConfChange.MaxContextBytes)
                throw new ArgumentException($"node {id}'s context has {context.Length} bytes, more than {ConfChange.MaxContextBytes}", nameof(voters));
            var change = ConfChange.Single(ConfChangeType.AddVoter, id, context);
            entries[i] = new Entry((ulong)i + 1, InitialTerm, EntryType.ConfChange, change.Encode());
        }
        return entries;
    }

    /// <summary>
    /// The hard state to persist with <see cref="InitialEntries"/>: term 1, no vote, and the <paramref name="count"/>
    /// entries committed (every initial member agrees on them, so no vote is needed to commit them).
    /// </summary>
    /// <param name="count">The number of initial voters (entries); positive.</param>
    public static HardState InitialHardState(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return new HardState(InitialTerm, RaftNode.None, (ulong)count);
    }
}
