namespace RaftKv.Raft;

/// <summary>The messages nodes exchange. Local actions (tick, propose) are methods on <see cref="RaftNode"/>, not messages.</summary>
public enum MessageType : byte
{
    /// <summary>AppendEntries (paper section 5.3): entries after (Index, LogTerm), with the leader's commit.</summary>
    Append = 1,
    /// <summary>Answer to <see cref="Append"/> or <see cref="Snapshot"/>: Index is the last matching index, or on reject the probed index with a hint.</summary>
    AppendResponse = 2,
    /// <summary>RequestVote (paper section 5.2) for the candidate's last (Index, LogTerm).</summary>
    Vote = 3,
    /// <summary>Answer to <see cref="Vote"/>.</summary>
    VoteResponse = 4,
    /// <summary>A pre-vote (thesis section 9.6): would you vote for me at Term, without anyone changing term.</summary>
    PreVote = 5,
    /// <summary>Answer to <see cref="PreVote"/>.</summary>
    PreVoteResponse = 6,
    /// <summary>Leader heartbeat; carries a safe commit index and a read-index context.</summary>
    Heartbeat = 7,
    /// <summary>Answer to <see cref="Heartbeat"/>, echoing its context.</summary>
    HeartbeatResponse = 8,
    /// <summary>InstallSnapshot (paper section 7).</summary>
    Snapshot = 9,
    /// <summary>A follower forwarding a read-index request to the leader (thesis section 6.4).</summary>
    ReadIndex = 10,
    /// <summary>The leader's answer to a forwarded <see cref="ReadIndex"/>.</summary>
    ReadIndexResponse = 11,
    /// <summary>A follower forwarding a leadership-transfer request to the leader (thesis section 3.10).</summary>
    TransferLeader = 12,
    /// <summary>The leader telling an up-to-date follower to start an election now (thesis section 3.10).</summary>
    TimeoutNow = 13,
}

/// <summary>Helpers over <see cref="MessageType"/>.</summary>
public static class MessageTypeExtensions
{
    /// <summary>The response type a vote request of this type expects.</summary>
    public static MessageType VoteResponseType(this MessageType type) => type switch
    {
        MessageType.Vote => MessageType.VoteResponse,
        MessageType.PreVote => MessageType.PreVoteResponse,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a vote request"),
    };

    /// <summary>Whether the message is a response (which may be dropped without consequences beyond a retry).</summary>
    public static bool IsResponse(this MessageType type) => type is MessageType.AppendResponse or MessageType.VoteResponse
        or MessageType.PreVoteResponse or MessageType.HeartbeatResponse or MessageType.ReadIndexResponse;
}
