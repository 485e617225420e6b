namespace RaftKv.Raft;

/// <summary>
/// The state a node must persist before it answers anyone (paper figure 2, "persistent state on all servers"),
/// plus the commit index so a restart does not re-apply from zero.
/// </summary>
/// <param name="Term">Latest term the node has seen.</param>
/// <param name="Vote">Candidate voted for in <paramref name="Term"/>, or <see cref="RaftNode.None"/>.</param>
/// <param name="Commit">Highest index known to be committed.</param>
public readonly record struct HardState(ulong Term, ulong Vote, ulong Commit)
{
    /// <summary>The state of a node that has never run.</summary>
    public static HardState Empty => default;

    /// <summary>True when nothing has ever been recorded.</summary>
    public bool IsEmpty => Term == 0 && Vote == 0 && Commit == 0;
}
