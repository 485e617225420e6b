using RaftKv.Raft.Tracking;

namespace RaftKv.Raft;

public sealed partial class RaftNode
{
    // Index of the last configuration change this leader appended (at first: its no-op, so that a new leader changes
    // nothing before it has committed an entry of its own term, thesis section 4.1's fix). Invariant: while
    // _pendingConfIndex > applied, no other change is proposed (at most one change in flight, etcd's pendingConfIndex).
    private ulong _pendingConfIndex;

    // Every node in the configuration but this one, sorted: the leader replicates to them.
    private ulong[] _peers = [];

    /// <summary>
    /// Proposes a configuration change (thesis chapter 4): one change is a simple step (section 4.1), several enter
    /// joint consensus (section 4.3). Only a leader accepts, and only when no earlier change is still unapplied
    /// (<see cref="ProposeStatus.ConfChangePending"/>) and the change applies to the current configuration
    /// (<see cref="ProposeStatus.ConfChangeRefused"/>). For both, <see cref="ProposeResult.Reason"/> says why, in
    /// words a server can hand to its client. The change takes effect on each node when its application applies the
    /// committed entry through <see cref="ApplyConfChange"/>. <see cref="ConfChangeType.UpdateNode"/> changes count
    /// as changes here too: one in flight at a time.
    /// </summary>
    /// <remarks>
    /// A new voter counts toward every quorum as soon as the change is applied, caught up or not: a server should add
    /// it as a learner first, watch <see cref="MatchIndexOf"/> and promote it once it has caught up (thesis section
    /// 4.2.1). Removing the leader is allowed: it keeps leading until it applies the change, then steps down.
    /// </remarks>
    public ProposeResult ProposeConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        EnsureNoOutstandingReady();
        if (Role != RaftRole.Leader) return new ProposeResult(ProposeStatus.NotLeader, 0, Term, Lead);
        if (_leadTransferee != None) return new ProposeResult(ProposeStatus.TransferInProgress, 0, Term, Lead);
        if (_pendingConfIndex > _log.Applied)
        {
            return new ProposeResult(ProposeStatus.ConfChangePending, 0, Term, Lead)
            {
                Reason = $"the configuration change at index {_pendingConfIndex} is not applied yet (applied {_log.Applied})",
            };
        }
        if (!change.TryApply(_conf, out _, out var why))
        {
            Emit(RaftEventKind.ConfigurationChange, $"{Me} refused configuration change '{change}': {why}");
            return new ProposeResult(ProposeStatus.ConfChangeRefused, 0, Term, Lead) { Reason = why };
        }
        var data = change.Encode();
        if (_uncommittedBytes > 0 && _uncommittedBytes + data.Length > _config.MaxUncommittedEntriesBytes)
            return new ProposeResult(ProposeStatus.TooManyUncommitted, 0, Term, Lead);
        var index = AppendConfChange(change, data);
        return new ProposeResult(ProposeStatus.Accepted, index, Term, Id);
    }

    private ulong AppendConfChange(ConfChange change, byte[] data)
    {
        var index = _log.LastIndex + 1;
        _log.Append([new Entry(index, Term, EntryType.ConfChange, data)]);
        _uncommittedBytes += data.Length;
        _pendingConfIndex = index;
        Emit(RaftEventKind.ConfigurationChange, $"{Me} proposed configuration change '{change}' at index {index} (term {Term})");
        BroadcastAppend();
        return index;
    }

    /// <summary>
    /// Makes a committed configuration change take effect on this node and returns the new configuration. The
    /// application calls it for every <see cref="EntryType.ConfChange"/> entry of <see cref="Ready.CommittedEntries"/>,
    /// in log order, when it applies that entry (step 3 of <see cref="Ready"/>, before <see cref="Advance"/>), and again
    /// for such entries replayed after a restart. It persists the returned state with its own applied state (and
    /// puts it in the snapshots it takes).
    /// </summary>
    /// <exception cref="RaftInvariantException">
    /// The change does not apply to the current configuration; since every node applies the same committed changes in
    /// the same order, this means a bug or a skipped entry, and the node must be discarded.
    /// </exception>
    public ConfState ApplyConfChange(ConfChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (!change.TryApply(_conf, out var next, out var why))
            throw new RaftInvariantException($"{Me} cannot apply the committed configuration change '{change}' to {_conf}: {why}");
        var previous = _conf;
        Emit(RaftEventKind.ConfigurationChange, $"{Me} applied configuration change '{change}': {previous} -> {next}");
        // Only UpdateNode changes leave the configuration as it was: progress, leadership and quorums stay untouched.
        if (next.Equals(previous)) return previous;
        SetConf(next);
        switch (Role)
        {
            case RaftRole.Leader:
                LeaderConfigChanged();
                break;
            case RaftRole.Candidate or RaftRole.PreCandidate when !_conf.IsVoter(Id):
                Emit(RaftEventKind.SteppedDown, $"{Me} stopped campaigning: it is no longer a voter");
                BecomeFollower(Term, None);
                break;
        }
        return next;
    }

    /// <summary>
    /// The highest index the leader knows <paramref name="id"/> holds, or null when this node does not lead or does not
    /// replicate to <paramref name="id"/>. A server refuses to promote a learner whose match lags (etcd's rule).
    /// </summary>
    public ulong? MatchIndexOf(ulong id)
    {
        if (Role != RaftRole.Leader || !_progress.TryGetValue(id, out var pr)) return null;
        return pr.Match;
    }

    private void SetConf(ConfState conf)
    {
        _conf = conf;
        _peers = conf.AllIds().Where(id => id != Id).Order().ToArray();
    }

    private void LeaderConfigChanged()
    {
        if (!_conf.IsVoter(Id))
        {
            // Removed (thesis section 4.2.2): the change is committed, so the cluster goes on without us. Hand over to
            // an up-to-date voter at once rather than leaving the others to time out.
            var successor = _conf.Voters.Where(v => _progress.ContainsKey(v)).MaxBy(v => _progress[v].Match);
            if (successor != None && _progress[successor].Match == _log.LastIndex) SendTimeoutNow(successor);
            Emit(RaftEventKind.SteppedDown, $"{Me} stepped down: it is no longer a voter at term {Term}");
            BecomeFollower(Term, None);
            return;
        }
        foreach (var id in _progress.Keys.Where(id => !_conf.Contains(id)).ToArray()) _progress.Remove(id);
        var next = _log.LastIndex + 1;
        foreach (var id in _peers)
        {
            if (_progress.ContainsKey(id)) continue;
            // A new member: probe from the end; heard from "recently", so a snapshot may be sent and check-quorum
            // does not count it as lost before it could answer.
            _progress[id] = new Progress(next, _config.MaxInflightMsgs, _config.MaxInflightBytes) { RecentActive = true };
        }
        if (_leadTransferee != None && !_conf.IsVoter(_leadTransferee)) AbortLeaderTransfer("the target is no longer a voter");
        // The quorum changed: something may now be committed (or, for a new member, something must be sent).
        if (MaybeCommit()) OnCommitAdvanced();
        else BroadcastAppend();
    }

    /// <summary>Joint consensus left automatically (etcd's auto-leave): once the leader applied the joint configuration.</summary>
    private void MaybeAutoLeave()
    {
        if (Role != RaftRole.Leader || !_conf.AutoLeave || _pendingConfIndex > _log.Applied || _leadTransferee != None) return;
        var leave = ConfChange.LeaveJoint;
        AppendConfChange(leave, leave.Encode());
    }

    /// <summary>
    /// Whether a configuration change is committed but not yet applied: such a node does not campaign, since it may
    /// be about to learn that it is no longer a voter, or that the voters changed (etcd-io/raft does the same).
    /// </summary>
    private bool HasUnappliedConfChange()
    {
        var entries = new List<Entry>();
        for (var low = _log.Applied + 1; low <= _log.Committed;)
        {
            entries.Clear();
            var result = _log.Slice(low, _log.Committed + 1, _config.MaxCommittedSizePerReadyBytes, entries);
            if (result != LogLookup.Ok || entries.Count == 0) return false; // compacted: a snapshot is being applied
            foreach (var e in entries)
            {
                if (e.Type == EntryType.ConfChange) return true;
            }
            low = entries[^1].Index + 1;
        }
        return false;
    }

    private readonly struct MatchLookup(Dictionary<ulong, Progress> progress) : IIndexLookup
    {
        public ulong IndexOf(ulong id) => progress.TryGetValue(id, out var pr) ? pr.Match : 0;
    }
}
