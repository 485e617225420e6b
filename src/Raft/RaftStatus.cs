using RaftKv.Raft.Tracking;

namespace RaftKv.Raft;

/// <summary>A leader's view of one follower's replication, for dashboards and tests.</summary>
/// <param name="Id">The follower.</param>
/// <param name="Match">Highest index known to be on the follower.</param>
/// <param name="Next">Next index the leader will send.</param>
/// <param name="State">Probe, replicate or snapshot.</param>
/// <param name="Inflight">Append messages sent and not yet acknowledged.</param>
/// <param name="RecentActive">Heard from during the current check-quorum period.</param>
public readonly record struct FollowerProgress(ulong Id, ulong Match, ulong Next, ProgressState State, int Inflight, bool RecentActive)
{
    /// <summary>The follower is a learner: it receives the log but does not vote.</summary>
    public bool IsLearner { get; init; }
}

/// <summary>A snapshot of a node's state, safe to hand to another thread.</summary>
public sealed record RaftStatus
{
    /// <summary>This node.</summary>
    public required ulong Id { get; init; }
    /// <summary>Current term.</summary>
    public required ulong Term { get; init; }
    /// <summary>Vote in the current term, or 0.</summary>
    public required ulong Vote { get; init; }
    /// <summary>Known leader, or 0.</summary>
    public required ulong Leader { get; init; }
    /// <summary>This node's role.</summary>
    public required RaftRole Role { get; init; }
    /// <summary>Commit index.</summary>
    public required ulong Commit { get; init; }
    /// <summary>Applied index.</summary>
    public required ulong Applied { get; init; }
    /// <summary>Last log index.</summary>
    public required ulong LastIndex { get; init; }
    /// <summary>Term of the last log entry.</summary>
    public required ulong LastTerm { get; init; }
    /// <summary>First index still in the log (after the snapshot).</summary>
    public required ulong FirstIndex { get; init; }
    /// <summary>The voters (in a joint configuration, the incoming ones).</summary>
    public required IReadOnlyList<ulong> Voters { get; init; }
    /// <summary>The whole configuration in force (learners, and the outgoing voters while joint).</summary>
    public ConfState? Configuration { get; init; }
    /// <summary>Target of an ongoing leadership transfer, or 0.</summary>
    public required ulong LeadTransferee { get; init; }
    /// <summary>Per-follower replication; empty unless this node leads.</summary>
    public required IReadOnlyList<FollowerProgress> Progress { get; init; }
}
