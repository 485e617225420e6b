namespace RaftKv.Raft;

/// <summary>Settings for one <see cref="RaftNode"/>. Call <see cref="Validate"/> (the node does) before use.</summary>
public sealed record RaftConfig
{
    /// <summary>This node's id; non-zero.</summary>
    public required ulong Id { get; init; }

    /// <summary>
    /// Voters of a brand-new cluster. Ignored when storage already holds a membership (from a snapshot). Leave it
    /// empty when the configuration is in the log instead: for a cluster bootstrapped with
    /// <see cref="RaftBootstrap"/>'s entries, and for a node added later, which starts with an empty log in
    /// <see cref="ConfState.Empty"/> and learns every configuration from the leader.
    /// </summary>
    public IReadOnlyList<ulong> Voters { get; init; } = [];

    /// <summary>
    /// Ticks without hearing from a leader before a follower campaigns. The actual timeout is drawn uniformly from
    /// <c>[ElectionTimeoutTicks, 2 * ElectionTimeoutTicks)</c> after every reset (paper section 5.2).
    /// </summary>
    public int ElectionTimeoutTicks { get; init; } = 10;

    /// <summary>Ticks between leader heartbeats; must be smaller than <see cref="ElectionTimeoutTicks"/>.</summary>
    public int HeartbeatTimeoutTicks { get; init; } = 1;

    /// <summary>Run a pre-vote round before a real election (thesis section 9.6), so a rejoining node cannot raise the term.</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>
    /// A pre-candidate that has not won asks again after this many ticks, within its election timeout. Peers that
    /// still heard from the old leader a moment ago ignore a pre-vote (leader lease); without a retry the
    /// pre-candidate would wait a whole new timeout. Pre-votes change no state, so retrying is safe. 0 disables.
    /// </summary>
    public int PreVoteRetryTicks { get; init; } = 2;

    /// <summary>
    /// Election ticks counted as already elapsed when the node is created, so a node that boots campaigns within one
    /// randomized timeout less these ticks, not a whole one: after a restart of every member, a leader is elected
    /// about one election timeout sooner (etcd's initial election tick advance). Needs <see cref="PreVote"/>: a node
    /// that boots while a leader is alive only asks for pre-votes, which members hearing from that leader refuse
    /// (with <see cref="CheckQuorum"/>), and the leader's next heartbeat makes it a follower. 0 (the default) waits a
    /// whole timeout; at most <see cref="ElectionTimeoutTicks"/> - 1.
    /// </summary>
    public int InitialElectionTickAdvance { get; init; }

    /// <summary>A leader steps down when it has not heard from a quorum for an election timeout (thesis section 6.2).</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>Upper bound on entry bytes in one append message (at least one entry is always sent).</summary>
    public long MaxSizePerMsgBytes { get; init; } = 1024 * 1024;

    /// <summary>Append messages in flight to one follower in the replicate state (pipelining window).</summary>
    public int MaxInflightMsgs { get; init; } = 256;

    /// <summary>Bytes in flight to one follower; 0 means unlimited (bounded by count alone).</summary>
    public long MaxInflightBytes { get; init; }

    /// <summary>Bytes of proposed but uncommitted entries a leader accepts before it drops proposals.</summary>
    public long MaxUncommittedEntriesBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Committed entry bytes handed out in one <see cref="Ready"/> (at least one entry).</summary>
    public long MaxCommittedSizePerReadyBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Read-index requests a node holds while waiting for quorum confirmation.</summary>
    public int MaxPendingReadIndex { get; init; } = 4096;

    /// <summary>Messages queued for the host between two <see cref="Ready"/> calls before the core drops new ones.</summary>
    public int MaxOutboxMessages { get; init; } = 16 * 1024;

    /// <summary>Events queued between two <see cref="Ready"/> calls before the oldest are counted and dropped.</summary>
    public int MaxPendingEvents { get; init; } = 1024;

    /// <summary>Index the host's state machine has already applied (for a restart with a persistent state machine).</summary>
    public ulong AppliedIndex { get; init; }

    /// <summary>
    /// The configuration as of <see cref="AppliedIndex"/>, which a host with a persistent state machine saved with it
    /// (what <see cref="RaftNode.ApplyConfChange"/> last returned). Null: the latest snapshot's, else <see cref="Voters"/>,
    /// else <see cref="ConfState.Empty"/> (the configuration is learned from the log).
    /// Needed when <see cref="AppliedIndex"/> is beyond the snapshot: changes between them are not applied again.
    /// </summary>
    public ConfState? AppliedConfState { get; init; }

    /// <summary>Names nodes in events ("A became leader"); by default the decimal id.</summary>
    public Func<ulong, string> NameOf { get; init; } = static id => id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        if (Id == RaftNode.None) throw new ArgumentException("Id must be non-zero (0 means 'none')", nameof(Id));
        if (HeartbeatTimeoutTicks <= 0) throw new ArgumentException($"HeartbeatTimeoutTicks must be positive, was {HeartbeatTimeoutTicks}", nameof(HeartbeatTimeoutTicks));
        if (ElectionTimeoutTicks <= HeartbeatTimeoutTicks)
            throw new ArgumentException($"ElectionTimeoutTicks ({ElectionTimeoutTicks}) must be greater than HeartbeatTimeoutTicks ({HeartbeatTimeoutTicks})", nameof(ElectionTimeoutTicks));
        if (PreVoteRetryTicks < 0 || (PreVoteRetryTicks > 0 && PreVoteRetryTicks >= ElectionTimeoutTicks))
            throw new ArgumentException($"PreVoteRetryTicks ({PreVoteRetryTicks}) must be 0 or less than ElectionTimeoutTicks ({ElectionTimeoutTicks})", nameof(PreVoteRetryTicks));
        if (InitialElectionTickAdvance < 0 || InitialElectionTickAdvance >= ElectionTimeoutTicks)
            throw new ArgumentException($"InitialElectionTickAdvance ({InitialElectionTickAdvance}) must be in [0, ElectionTimeoutTicks ({ElectionTimeoutTicks}))", nameof(InitialElectionTickAdvance));
        if (InitialElectionTickAdvance > 0 && !PreVote)
            throw new ArgumentException("InitialElectionTickAdvance needs PreVote: without it a booting node would depose a live leader", nameof(InitialElectionTickAdvance));
        if (MaxSizePerMsgBytes <= 0) throw new ArgumentException("MaxSizePerMsgBytes must be positive", nameof(MaxSizePerMsgBytes));
        if (MaxInflightMsgs <= 0) throw new ArgumentException("MaxInflightMsgs must be positive", nameof(MaxInflightMsgs));
        if (MaxInflightBytes < 0) throw new ArgumentException("MaxInflightBytes must not be negative", nameof(MaxInflightBytes));
        if (MaxInflightBytes != 0 && MaxInflightBytes < MaxSizePerMsgBytes)
            throw new ArgumentException("MaxInflightBytes must be at least MaxSizePerMsgBytes", nameof(MaxInflightBytes));
        if (MaxUncommittedEntriesBytes <= 0) throw new ArgumentException("MaxUncommittedEntriesBytes must be positive", nameof(MaxUncommittedEntriesBytes));
        if (MaxCommittedSizePerReadyBytes <= 0) throw new ArgumentException("MaxCommittedSizePerReadyBytes must be positive", nameof(MaxCommittedSizePerReadyBytes));
        if (MaxPendingReadIndex <= 0) throw new ArgumentException("MaxPendingReadIndex must be positive", nameof(MaxPendingReadIndex));
        if (MaxOutboxMessages <= 0) throw new ArgumentException("MaxOutboxMessages must be positive", nameof(MaxOutboxMessages));
        if (MaxPendingEvents <= 0) throw new ArgumentException("MaxPendingEvents must be positive", nameof(MaxPendingEvents));
        ArgumentNullException.ThrowIfNull(NameOf);
        if (Voters.Any(v => v == RaftNode.None)) throw new ArgumentException("Voters must not contain 0", nameof(Voters));
    }
}
