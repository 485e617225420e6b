namespace RaftKv.Raft;

/// <summary>
/// The answer to a <see cref="RaftNode.ReadIndex"/> request (thesis section 6.4): once the local state machine has
/// applied <see cref="Index"/>, a read issued before the request began observes every write acknowledged before it.
/// </summary>
/// <param name="RequestId">The caller's id for the read.</param>
/// <param name="Index">The commit index confirmed by a quorum of heartbeats.</param>
public readonly record struct ReadState(ulong RequestId, ulong Index);
