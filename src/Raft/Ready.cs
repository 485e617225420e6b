namespace RaftKv.Raft;

/// <summary>The role a node plays (paper figure 4), plus the pre-candidate state of thesis section 9.6.</summary>
public enum RaftRole : byte
{
    /// <summary>Passive: answers leaders and candidates.</summary>
    Follower = 0,
    /// <summary>Asking whether it could win an election, without raising its term.</summary>
    PreCandidate = 1,
    /// <summary>Running an election.</summary>
    Candidate = 2,
    /// <summary>Handles proposals and replicates the log.</summary>
    Leader = 3,
}

/// <summary>Volatile state worth showing: who leads and what role this node has.</summary>
/// <param name="Leader">Known leader id, or <see cref="RaftNode.None"/>.</param>
/// <param name="Role">This node's role.</param>
public readonly record struct SoftState(ulong Leader, RaftRole Role);

/// <summary>
/// Everything the host must do after the node changed: a batch of work handed out by <see cref="RaftNode.GetReady"/>
/// and acknowledged by <see cref="RaftNode.Advance"/>.
/// </summary>
/// <remarks>
/// <para>The host handles a Ready in this order, which is what keeps Raft safe across crashes:</para>
/// <list type="number">
/// <item>Persist <see cref="Snapshot"/>, <see cref="Entries"/> and <see cref="HardState"/>, durably (fsync) when
/// <see cref="MustSync"/> is true. A vote or an acknowledged entry that is not on disk is a promise broken by a crash.</item>
/// <item>Only then send <see cref="Messages"/>: they may acknowledge what step 1 persisted. The exception is a
/// leader's Ready marked <see cref="MessagesMayPrecedePersist"/> (thesis section 10.2.1).</item>
/// <item>Apply <see cref="Snapshot"/> (if any) and then <see cref="CommittedEntries"/> to the state machine, in order.
/// For an <see cref="EntryType.ConfChange"/> entry, call <see cref="RaftNode.ApplyConfChange"/> with its decoded
/// <see cref="ConfChange"/> when applying it (the only call allowed before Advance): the configuration takes effect
/// then, not when the entry is appended (as in etcd-io/raft, unlike the thesis). Keep the returned
/// <see cref="ConfState"/> with the applied state (<see cref="RaftConfig.AppliedConfState"/> on restart) and in
/// snapshots (<see cref="RaftNode.Membership"/> is it). The change's <see cref="ConfChange.Context"/> (member
/// metadata, which the core never reads) and <see cref="ConfChangeType.UpdateNode"/> changes (metadata only, the
/// configuration stays) are the application's to keep in its state machine. On a node bootstrapped with
/// <see cref="RaftBootstrap"/>'s entries, or added with an empty log, the first configuration changes arrive here
/// like any other: the node is in <see cref="ConfState.Empty"/>, and does not campaign, until it has applied them.</item>
/// <item>Call <see cref="RaftNode.Advance"/>. No other call on the node is allowed between GetReady and Advance.</item>
/// </list>
/// <para>All lists are owned by the host after GetReady returns; the node never touches them again.</para>
/// </remarks>
public sealed class Ready
{
    /// <summary>New leader or role, or null when unchanged.</summary>
    public SoftState? SoftState { get; init; }

    /// <summary>Term, vote and commit to persist, or null when unchanged.</summary>
    public HardState? HardState { get; init; }

    /// <summary>Entries to append to stable storage (replacing any conflicting suffix from their first index).</summary>
    public required IReadOnlyList<Entry> Entries { get; init; }

    /// <summary>A snapshot received from the leader, to persist and then apply; null when none.</summary>
    public Snapshot? Snapshot { get; init; }

    /// <summary>Committed entries to apply, in index order, after persisting.</summary>
    public required IReadOnlyList<Entry> CommittedEntries { get; init; }

    /// <summary>Messages to send after persisting. Delivery may fail, repeat or reorder; Raft copes.</summary>
    public required IReadOnlyList<Message> Messages { get; init; }

    /// <summary>Read-index answers (thesis section 6.4).</summary>
    public required IReadOnlyList<ReadState> ReadStates { get; init; }

    /// <summary>Things that happened, for logs and dashboards.</summary>
    public required IReadOnlyList<RaftEvent> Events { get; init; }

    /// <summary>
    /// True when <see cref="Messages"/> may be sent before step 1 (thesis section 10.2.1): the node leads, the Ready
    /// changes neither term nor vote and installs no snapshot, and every message is one a leader sends in its term.
    /// Such messages promise nothing about this node's disk, because it counts itself toward a commit only for
    /// entries it has persisted (through <see cref="RaftNode.Advance"/>); its followers' fsyncs then overlap its own.
    /// </summary>
    public bool MessagesMayPrecedePersist { get; init; }

    /// <summary>Events dropped because more than the configured limit happened since the last Ready.</summary>
    public int DroppedEvents { get; init; }

    /// <summary>
    /// Whether step 1 must be durable before step 2: true whenever there are entries, a snapshot, a new term or a new
    /// vote. Only a change of the commit index alone may skip the sync.
    /// </summary>
    public bool MustSync { get; init; }

    /// <summary>True when there is nothing to do.</summary>
    public bool IsEmpty => SoftState is null && HardState is null && Entries.Count == 0 && Snapshot is null
        && CommittedEntries.Count == 0 && Messages.Count == 0 && ReadStates.Count == 0 && Events.Count == 0;
}
