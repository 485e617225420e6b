namespace RaftKv.Raft;

/// <summary>What happened to a proposal. Only <see cref="Accepted"/> means the entries are in the leader's log.</summary>
public enum ProposeStatus : byte
{
    /// <summary>Appended to the leader's log; it commits once a quorum persists it (or is lost if leadership changes first).</summary>
    Accepted = 0,
    /// <summary>This node is not the leader; see <see cref="ProposeResult.LeaderHint"/>.</summary>
    NotLeader = 1,
    /// <summary>A leadership transfer is in progress (thesis section 3.10); retry on the new leader.</summary>
    TransferInProgress = 2,
    /// <summary>Too many uncommitted bytes are pending (<see cref="RaftConfig.MaxUncommittedEntriesBytes"/>); back off.</summary>
    TooManyUncommitted = 3,
    /// <summary>
    /// A configuration change is still unapplied (at most one is in flight; a new leader waits for its first entry to
    /// apply); retry once it is applied.
    /// </summary>
    ConfChangePending = 4,
    /// <summary>The configuration change does not apply to the current configuration (<see cref="ConfChange.TryApply"/> says why).</summary>
    ConfChangeRefused = 5,
}

/// <summary>The outcome of <see cref="RaftNode.Propose(ReadOnlyMemory{byte})"/>.</summary>
/// <param name="Status">Whether the entries were appended.</param>
/// <param name="FirstIndex">Index of the first appended entry (0 unless accepted).</param>
/// <param name="Term">Term the entries were appended in; they are committed only if the entry at their index still has it.</param>
/// <param name="LeaderHint">The leader this node knows of, or <see cref="RaftNode.None"/>.</param>
public readonly record struct ProposeResult(ProposeStatus Status, ulong FirstIndex, ulong Term, ulong LeaderHint)
{
    /// <summary>
    /// Why a configuration change was not accepted, for the caller to report: set by
    /// <see cref="RaftNode.ProposeConfChange"/> for <see cref="ProposeStatus.ConfChangeRefused"/> (the reason
    /// <see cref="ConfChange.TryApply"/> gives) and <see cref="ProposeStatus.ConfChangePending"/> (which change is in
    /// flight); null otherwise.
    /// </summary>
    public string? Reason { get; init; }

    /// <summary>True when the entries were appended.</summary>
    public bool IsAccepted => Status == ProposeStatus.Accepted;
}

/// <summary>What happened to a read-index or leadership-transfer request.</summary>
public enum RequestStatus : byte
{
    /// <summary>Handled here (an answer will appear in a later <see cref="Ready"/>, or the transfer has started).</summary>
    Accepted = 0,
    /// <summary>Sent on to the leader.</summary>
    Forwarded = 1,
    /// <summary>No leader is known; retry later.</summary>
    NoLeader = 2,
    /// <summary>Too many requests are pending (<see cref="RaftConfig.MaxPendingReadIndex"/>).</summary>
    TooManyPending = 3,
    /// <summary>The request makes no sense here (for example transferring leadership to a non-member).</summary>
    Invalid = 4,
}
