namespace RaftKv.Raft;

/// <summary>
/// One message between nodes. Every field is set at construction; a message is never modified after it is
/// handed out in <see cref="Ready.Messages"/>, so a transport may share it freely.
/// </summary>
public sealed class Message
{
    /// <summary>What the message is.</summary>
    public required MessageType Type { get; init; }

    /// <summary>Sender id.</summary>
    public required ulong From { get; init; }

    /// <summary>Recipient id.</summary>
    public required ulong To { get; init; }

    /// <summary>The sender's term (for a pre-vote, the term the sender would campaign in). 0 only for forwarded local requests.</summary>
    public ulong Term { get; init; }

    /// <summary>Append: term of the entry at <see cref="Index"/>. Vote: term of the candidate's last entry. Rejected append response: term of the hint.</summary>
    public ulong LogTerm { get; init; }

    /// <summary>Append: index preceding the entries. Vote: candidate's last index. Append response: last matching index (or the probed index if rejected). Read index response: the read index.</summary>
    public ulong Index { get; init; }

    /// <summary>Entries to append, in index order.</summary>
    public IReadOnlyList<Entry> Entries { get; init; } = [];

    /// <summary>Leader's commit index (Append, Heartbeat).</summary>
    public ulong Commit { get; init; }

    /// <summary>True when the request was refused.</summary>
    public bool Reject { get; init; }

    /// <summary>Rejected append response: the follower's suggestion of where to probe next (fast backtracking).</summary>
    public ulong RejectHint { get; init; }

    /// <summary>Heartbeat and read index: an id echoed in the response. Vote: 1 when the election is a leadership transfer.</summary>
    public ulong Context { get; init; }

    /// <summary>The snapshot of a <see cref="MessageType.Snapshot"/> message.</summary>
    public Snapshot? Snapshot { get; init; }

    /// <summary>Context value a vote carries when the election was started by a leadership transfer (bypasses leases).</summary>
    public const ulong CampaignTransferContext = 1;

    /// <inheritdoc />
    public override string ToString()
    {
        var s = $"{From}->{To} {Type} term={Term} logTerm={LogTerm} index={Index} commit={Commit}";
        if (Entries.Count > 0) s += $" entries={Entries[0].Index}..{Entries[^1].Index}";
        if (Reject) s += $" reject hint={RejectHint}";
        if (Context != 0) s += $" ctx={Context}";
        if (Snapshot is not null) s += $" snapshot={Snapshot.Term}/{Snapshot.Index}";
        return s;
    }
}
