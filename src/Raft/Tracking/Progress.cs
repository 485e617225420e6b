namespace RaftKv.Raft.Tracking;

/// <summary>How the leader is currently replicating to a follower.</summary>
public enum ProgressState : byte
{
    /// <summary>Match unknown: send one append per heartbeat interval and learn from the answer.</summary>
    Probe = 0,
    /// <summary>Match known: stream appends optimistically, up to the inflight limit.</summary>
    Replicate = 1,
    /// <summary>The follower needs entries we compacted: a snapshot is on its way; send nothing else.</summary>
    Snapshot = 2,
}

/// <summary>The leader's view of one follower (paper figure 2: nextIndex and matchIndex, plus flow control).</summary>
internal sealed class Progress
{
    public Progress(ulong next, int maxInflight, long maxInflightBytes)
    {
        Next = next;
        Inflights = new Inflights(maxInflight, maxInflightBytes);
    }

    /// <summary>Highest index known replicated on the follower. Invariant: Match &lt; Next.</summary>
    public ulong Match { get; private set; }

    /// <summary>Next index to send.</summary>
    public ulong Next { get; private set; }

    public ProgressState State { get; private set; }

    /// <summary>In Snapshot state: the index of the snapshot being sent.</summary>
    public ulong PendingSnapshot { get; private set; }

    /// <summary>Heard from since the last check-quorum round.</summary>
    public bool RecentActive { get; set; }

    /// <summary>In Probe state: an append was sent and we wait for its answer or the next heartbeat.</summary>
    public bool ProbeSent { get; set; }

    public Inflights Inflights { get; }

    public bool IsPaused => State switch
    {
        ProgressState.Probe => ProbeSent,
        ProgressState.Replicate => Inflights.Full,
        _ => true,
    };

    private void ResetState(ProgressState state)
    {
        ProbeSent = false;
        PendingSnapshot = 0;
        State = state;
        Inflights.Reset();
    }

    /// <summary>The snapshot could not be delivered: probe again from the known match.</summary>
    public void AbortSnapshot()
    {
        RaftInvariantException.Assert(State == ProgressState.Snapshot, $"abort snapshot in state {State}");
        PendingSnapshot = 0;
        BecomeProbe();
    }

    public void BecomeProbe()
    {
        if (State == ProgressState.Snapshot)
        {
            // Resume after the snapshot (or after where it was meant to bring the follower).
            var pending = PendingSnapshot;
            ResetState(ProgressState.Probe);
            Next = Math.Max(Match + 1, pending + 1);
        }
        else
        {
            ResetState(ProgressState.Probe);
            Next = Match + 1;
        }
    }

    public void BecomeReplicate()
    {
        ResetState(ProgressState.Replicate);
        Next = Match + 1;
    }

    public void BecomeSnapshot(ulong snapshotIndex)
    {
        ResetState(ProgressState.Snapshot);
        PendingSnapshot = snapshotIndex;
    }

    /// <summary>Records that an append with entries up to <paramref name="lastIndex"/> was sent.</summary>
    public void SentEntries(int count, long bytes, ulong lastIndex)
    {
        if (count == 0) return;
        switch (State)
        {
            case ProgressState.Replicate:
                Next = lastIndex + 1;
                Inflights.Add(lastIndex, bytes);
                break;
            case ProgressState.Probe:
                ProbeSent = true;
                break;
            default:
                throw new RaftInvariantException($"sending entries in state {State}");
        }
    }

    /// <summary>A successful append response up to <paramref name="index"/>. False when it was stale.</summary>
    public bool MaybeUpdate(ulong index)
    {
        var updated = false;
        if (Match < index)
        {
            Match = index;
            updated = true;
            ProbeSent = false;
        }
        Next = Math.Max(Next, index + 1);
        return updated;
    }

    /// <summary>For the leader's own progress: its persisted log now ends at <paramref name="index"/>.</summary>
    public void SetSelf(ulong index)
    {
        Match = index;
        Next = index + 1;
    }

    /// <summary>
    /// A rejected append for <paramref name="rejected"/>; <paramref name="matchHint"/> is where to probe next.
    /// False when the rejection is stale (already superseded).
    /// </summary>
    public bool MaybeDecrTo(ulong rejected, ulong matchHint)
    {
        if (State == ProgressState.Replicate)
        {
            // Stale if we already know a match at or beyond it.
            if (rejected <= Match) return false;
            Next = Match + 1;
            return true;
        }
        // Probe: the rejection must be for the index we probed.
        if (Next - 1 != rejected) return false;
        Next = Math.Max(Math.Min(rejected, matchHint + 1), Match + 1);
        ProbeSent = false;
        return true;
    }

    public override string ToString() => $"match={Match} next={Next} {State} inflight={Inflights.Count}";
}
