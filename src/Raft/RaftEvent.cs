namespace RaftKv.Raft;

/// <summary>Kinds of things worth telling a person about; the host decides how (and whether) to log them.</summary>
public enum RaftEventKind : byte
{
    /// <summary>The node became a follower (on start, or stepping down).</summary>
    BecameFollower,
    /// <summary>The node started a pre-vote round (thesis section 9.6).</summary>
    BecamePreCandidate,
    /// <summary>The node started an election in a new term (paper section 5.2).</summary>
    BecameCandidate,
    /// <summary>The node won an election.</summary>
    BecameLeader,
    /// <summary>A vote (or pre-vote) for this node arrived.</summary>
    VoteReceived,
    /// <summary>A vote (or pre-vote) against this node arrived.</summary>
    VoteRejected,
    /// <summary>This node granted its vote (or pre-vote).</summary>
    VoteGranted,
    /// <summary>A leader or candidate saw a higher term or lost its quorum and stepped down.</summary>
    SteppedDown,
    /// <summary>A vote request was ignored because a leader is known to be alive (leader lease).</summary>
    VoteIgnored,
    /// <summary>The node installed a snapshot from the leader.</summary>
    SnapshotRestored,
    /// <summary>A leadership transfer started or was aborted.</summary>
    LeadershipTransfer,
    /// <summary>A configuration change was proposed, refused or applied (thesis chapter 4).</summary>
    ConfigurationChange,
}

/// <summary>Something that happened inside the core, with a sentence a person can follow.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Term">The node's term when it happened.</param>
/// <param name="Text">For example "A became leader at term 4 (votes: A, B)".</param>
public readonly record struct RaftEvent(RaftEventKind Kind, ulong Term, string Text)
{
    /// <inheritdoc />
    public override string ToString() => Text;
}
