using System.Diagnostics.CodeAnalysis;

namespace RaftKv.Raft;

public sealed partial class RaftNode
{
    /// <summary>
    /// Checks a message from the wire in full before <see cref="Step"/> touches any state, so bad input is refused
    /// with <see cref="InvalidMessageException"/> and the node is left exactly as it was. The checks are what the
    /// handlers assume; a message that passes them and still breaks something exposes a core bug (or a broken
    /// cluster, such as two leaders in one term), which throws something else.
    /// </summary>
    private void Validate(Message m)
    {
        ValidateEnvelope(m);
        switch (m.Type)
        {
            case MessageType.Append: ValidateAppend(m); break;
            case MessageType.Snapshot: ValidateSnapshot(m); break;
            case MessageType.Vote or MessageType.PreVote: ValidateVoteRequest(m); break;
            case MessageType.AppendResponse: ValidateAppendResponse(m); break;
        }
        // Stale messages are dropped (paper section 5.1), so only the ones that will be handled are checked
        // against our own state.
        if (m.Term == 0 || m.Term >= Term) ValidateAgainstState(m);
    }

    private void ValidateEnvelope(Message m)
    {
        if (!Enum.IsDefined(m.Type)) Refuse(m, $"undefined message type {(byte)m.Type}");
        if (m.To != Id) Refuse(m, $"it is addressed to {m.To}, not to {Id}");
        if (m.From == None || m.From == Id) Refuse(m, $"invalid sender {m.From}");
        // Any node may write to us: our configuration may be behind the cluster's (a new leader we have not yet
        // learned of, a learner); what a non-voter says is never counted (votes, commits and reads count voters only).
        var forwarded = m.Type is MessageType.ReadIndex or MessageType.TransferLeader;
        // Forwarded local requests carry no term; everything else does, and one we could never move past
        // (campaigning needs Term + 1) is refused.
        if (forwarded && m.Term != 0) Refuse(m, $"a forwarded request carries term {m.Term}");
        if (!forwarded && m.Term == 0) Refuse(m, "it carries no term");
        if (m.Term == ulong.MaxValue) Refuse(m, "its term cannot be followed by another");
        if (m.Entries is null) Refuse(m, "its entry list is null");
        if (m.Entries.Count > 0 && m.Type != MessageType.Append) Refuse(m, "only an append carries entries");
        if (m.Snapshot is not null && m.Type != MessageType.Snapshot) Refuse(m, "only a snapshot message carries a snapshot");
    }

    /// <summary>AppendEntries (paper section 5.3): entries numbered on from Index, terms never going down or past the leader's.</summary>
    private static void ValidateAppend(Message m)
    {
        if (m.LogTerm > m.Term) Refuse(m, $"previous entry term {m.LogTerm} is above the message term");
        if (m.Index == 0 && m.LogTerm != 0) Refuse(m, $"index 0 has no term, but the message says {m.LogTerm}");
        var entries = m.Entries;
        // The last index must leave room for one more, so LastIndex + 1 never overflows.
        if (m.Index >= ulong.MaxValue - (ulong)entries.Count) Refuse(m, "its indexes overflow");
        var previousTerm = m.LogTerm;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (e.Index != m.Index + 1 + (ulong)i) Refuse(m, $"entry {i} has index {e.Index}, expected {m.Index + 1 + (ulong)i}");
            if (!Enum.IsDefined(e.Type)) Refuse(m, $"entry {e.Index} has undefined type {(byte)e.Type}");
            if (e.Type == EntryType.ConfChange && !IsConfChange(e.Data.Span)) Refuse(m, $"entry {e.Index} is a configuration change that does not decode");
            if (e.Term == 0 || e.Term > m.Term) Refuse(m, $"entry {e.Index} has term {e.Term}, outside [1, {m.Term}]");
            if (e.Term < previousTerm) Refuse(m, $"entry {e.Index} has term {e.Term}, below the {previousTerm} before it");
            previousTerm = e.Term;
        }
    }

    /// <summary>InstallSnapshot (paper section 7): a snapshot of a real entry, from a term no later than the leader's.</summary>
    private static void ValidateSnapshot(Message m)
    {
        var snapshot = m.Snapshot;
        if (snapshot is null) Refuse(m, "it carries no snapshot");
        if (snapshot.Metadata is null) Refuse(m, "the snapshot has no metadata");
        if (snapshot.Metadata.ConfState is null) Refuse(m, "the snapshot has no membership");
        if (snapshot.Index is 0 or ulong.MaxValue) Refuse(m, $"snapshot index {snapshot.Index} is out of range");
        if (snapshot.Term == 0 || snapshot.Term > m.Term) Refuse(m, $"snapshot term {snapshot.Term} is outside [1, {m.Term}]");
    }

    /// <summary>RequestVote (paper section 5.2): the candidate's last entry cannot be newer than the term it asks for.</summary>
    private static void ValidateVoteRequest(Message m)
    {
        if (m.LogTerm > m.Term) Refuse(m, $"last entry term {m.LogTerm} is above the requested term");
        if (m.Index == 0 && m.LogTerm != 0) Refuse(m, $"an empty log has no last term, but the message says {m.LogTerm}");
        if (m.Context is not (0 or Message.CampaignTransferContext)) Refuse(m, $"undefined vote context {m.Context}");
    }

    private static void ValidateAppendResponse(Message m)
    {
        // The follower's entries are from terms up to its own, which the response carries.
        if (m.LogTerm > m.Term) Refuse(m, $"hint term {m.LogTerm} is above the message term");
        // The hint is where the follower's log may match, at or below the probed index.
        if (m.Reject && m.RejectHint > m.Index) Refuse(m, $"reject hint {m.RejectHint} is above the rejected index {m.Index}");
    }

    private void ValidateAgainstState(Message m)
    {
        // Within a leader's own term the other nodes answer what this leader sent: its log only grows in its term,
        // so no follower can hold more of it, and read rounds count up from what it started.
        var leadingThisTerm = Role == RaftRole.Leader && m.Term == Term;
        switch (m.Type)
        {
            case MessageType.AppendResponse when leadingThisTerm && m.Index > _log.LastIndex:
                Refuse(m, $"it answers index {m.Index}, beyond this leader's log ({_log.LastIndex})");
                break;
            case MessageType.HeartbeatResponse when leadingThisTerm && m.Context > _readSeq:
                Refuse(m, $"it acknowledges read round {m.Context}, but the last one started is {_readSeq}");
                break;
            case MessageType.Heartbeat when !leadingThisTerm && m.Commit > _log.LastIndex:
                // A leader only sends a commit the follower is known to hold (BroadcastHeartbeat).
                Refuse(m, $"commit {m.Commit} is beyond this node's log ({_log.LastIndex})");
                break;
        }
    }

    private static bool IsConfChange(ReadOnlySpan<byte> data)
    {
        try
        {
            ConfChange.Decode(data);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Throw helper, so the checks above stay small and format a message only when one fails.</summary>
    [DoesNotReturn]
    private static void Refuse(Message m, string why) => throw new InvalidMessageException($"{m.Type} from {m.From}: {why}");
}
