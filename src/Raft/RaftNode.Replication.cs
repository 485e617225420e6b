using RaftKv.Raft.Tracking;

namespace RaftKv.Raft;

public sealed partial class RaftNode
{
    /// <summary>Proposes one command. Only a leader accepts; see <see cref="ProposeResult"/>.</summary>
    public ProposeResult Propose(ReadOnlyMemory<byte> data) => Propose([data]);

    /// <summary>Proposes a batch of commands as consecutive entries, sent to followers together.</summary>
    public ProposeResult Propose(IReadOnlyList<ReadOnlyMemory<byte>> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        EnsureNoOutstandingReady();
        if (batch.Count == 0) throw new ArgumentException("empty proposal batch", nameof(batch));
        if (Role != RaftRole.Leader) return new ProposeResult(ProposeStatus.NotLeader, 0, Term, Lead);
        if (_leadTransferee != None) return new ProposeResult(ProposeStatus.TransferInProgress, 0, Term, Lead);
        long bytes = 0;
        foreach (var data in batch) bytes += data.Length;
        // Bound the work a leader takes on but cannot commit (e.g. followers are down). A single proposal is
        // always accepted when nothing is pending, so an oversized entry cannot wedge the node.
        if (_uncommittedBytes > 0 && _uncommittedBytes + bytes > _config.MaxUncommittedEntriesBytes)
            return new ProposeResult(ProposeStatus.TooManyUncommitted, 0, Term, Lead);
        var first = _log.LastIndex + 1;
        var entries = new Entry[batch.Count];
        for (var i = 0; i < batch.Count; i++) entries[i] = new Entry(first + (ulong)i, Term, EntryType.Normal, batch[i]);
        _log.Append(entries);
        _uncommittedBytes += bytes;
        BroadcastAppend();
        return new ProposeResult(ProposeStatus.Accepted, first, Term, Id);
    }

    private void BroadcastAppend()
    {
        foreach (var peer in _peers) SendAppend(peer, sendIfEmpty: true);
    }

    private void BroadcastHeartbeat(ulong context)
    {
        foreach (var peer in _peers)
        {
            // Only a commit the follower is known to have entries for (it may lag).
            var commit = Math.Min(_progress[peer].Match, _log.Committed);
            Send(new Message { Type = MessageType.Heartbeat, From = Id, To = peer, Term = Term, Commit = commit, Context = context });
        }
    }

    /// <summary>
    /// Sends the follower what it needs next: entries after its Next (paper section 5.3), or a snapshot if they
    /// were compacted (section 7). Returns false when nothing was sent.
    /// </summary>
    private bool SendAppend(ulong to, bool sendIfEmpty)
    {
        var pr = _progress[to];
        if (pr.IsPaused) return false;
        var prevIndex = pr.Next - 1;
        var termResult = _log.TryTerm(prevIndex, out var prevTerm);
        RaftInvariantException.Assert(termResult != LogLookup.Unavailable, $"{Me}: next {pr.Next} for {Name(to)} is beyond the log end {_log.LastIndex}");
        var entries = new List<Entry>();
        var entriesResult = termResult == LogLookup.Ok ? _log.Entries(pr.Next, _config.MaxSizePerMsgBytes, entries) : termResult;
        if (termResult != LogLookup.Ok || entriesResult != LogLookup.Ok)
        {
            return SendSnapshot(to, pr);
        }
        if (entries.Count == 0 && !sendIfEmpty) return false;
        long bytes = 0;
        foreach (var e in entries) bytes += e.SizeBytes;
        Send(new Message
        {
            Type = MessageType.Append, From = Id, To = to, Term = Term, Index = prevIndex, LogTerm = prevTerm,
            Entries = entries, Commit = _log.Committed,
        });
        if (entries.Count > 0) pr.SentEntries(entries.Count, bytes, entries[^1].Index);
        return true;
    }

    private void SendEmptyAppend(ulong to, Progress pr)
    {
        var prevIndex = pr.Next - 1;
        if (_log.TryTerm(prevIndex, out var prevTerm) != LogLookup.Ok)
        {
            SendSnapshot(to, pr); // compacted meanwhile: the follower needs the snapshot whatever it holds
            return;
        }
        Send(new Message
        {
            Type = MessageType.Append, From = Id, To = to, Term = Term, Index = prevIndex, LogTerm = prevTerm, Commit = _log.Committed,
        });
    }

    private bool SendSnapshot(ulong to, Progress pr)
    {
        // Do not ship a snapshot to a node we have not heard from: it may be down.
        if (!pr.RecentActive) return false;
        var snapshot = _log.CurrentSnapshot
            ?? throw new RaftInvariantException($"{Me}: entries for {Name(to)} were compacted but there is no snapshot");
        pr.BecomeSnapshot(snapshot.Index);
        Send(new Message { Type = MessageType.Snapshot, From = Id, To = to, Term = Term, Snapshot = snapshot });
        return true;
    }

    /// <summary>AppendEntries receiver (paper figure 2).</summary>
    private void HandleAppend(Message m)
    {
        if (m.Index < _log.Committed)
        {
            // Everything up to our commit is known to match; tell the leader where we are.
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
            return;
        }
        var lastNew = _log.MaybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries);
        if (lastNew is { } last)
        {
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = last });
            return;
        }
        // Consistency check failed. Hint (fast backtracking): the last index at or before the probe whose term is
        // not newer than the leader's term there; everything between cannot match.
        var (hintIndex, hintTerm) = _log.FindConflictByTerm(Math.Min(m.Index, _log.LastIndex), m.LogTerm);
        Send(new Message
        {
            Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = m.Index,
            Reject = true, RejectHint = hintIndex, LogTerm = hintTerm,
        });
    }

    private void HandleHeartbeat(Message m)
    {
        _log.CommitTo(m.Commit);
        Send(new Message { Type = MessageType.HeartbeatResponse, From = Id, To = m.From, Term = Term, Context = m.Context });
    }

    /// <summary>InstallSnapshot receiver (paper section 7).</summary>
    private void HandleSnapshot(Message m)
    {
        var snapshot = m.Snapshot ?? throw new RaftInvariantException($"{Me}: a snapshot message without a snapshot passed validation");
        if (Restore(snapshot))
        {
            Emit(RaftEventKind.SnapshotRestored, $"{Me} restored snapshot at index {snapshot.Index} (term {snapshot.Term}) from {Name(m.From)}");
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = _log.LastIndex });
        }
        else
        {
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
        }
    }

    private bool Restore(Snapshot snapshot)
    {
        if (snapshot.Index <= _log.Committed) return false;
        if (_log.MatchTerm(snapshot.Index, snapshot.Term))
        {
            // We already have the entries; the snapshot only tells us they are committed.
            _log.CommitTo(snapshot.Index);
            return false;
        }
        _log.Restore(snapshot);
        SetConf(snapshot.Metadata.ConfState);
        return true;
    }

    private void HandleAppendResponse(Message m)
    {
        if (!_progress.TryGetValue(m.From, out var pr)) return;
        pr.RecentActive = true;
        if (m.Reject)
        {
            var nextProbe = m.RejectHint;
            if (m.LogTerm > 0)
            {
                // The follower's entry at RejectHint has term LogTerm: skip our entries with newer terms too, so a
                // whole conflicting term is passed in one round trip (thesis section 5.3 optimisation).
                nextProbe = _log.FindConflictByTerm(m.RejectHint, m.LogTerm).Index;
            }
            if (pr.MaybeDecrTo(m.Index, nextProbe))
            {
                if (pr.State == ProgressState.Replicate) pr.BecomeProbe();
                SendAppend(m.From, sendIfEmpty: true);
            }
            return;
        }
        var wasPaused = pr.IsPaused;
        if (!pr.MaybeUpdate(m.Index) && !(pr.State == ProgressState.Probe && pr.Match == m.Index)) return;
        switch (pr.State)
        {
            case ProgressState.Probe:
                pr.BecomeReplicate();
                break;
            case ProgressState.Snapshot when pr.Match >= pr.PendingSnapshot || pr.Match + 1 >= _log.FirstIndex:
                pr.BecomeProbe();
                pr.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                pr.Inflights.FreeLE(m.Index);
                break;
        }
        if (MaybeCommit()) OnCommitAdvanced();
        else if (wasPaused) SendAppend(m.From, sendIfEmpty: true);
        // Fill the pipeline; each send carries at least one entry and the inflight window bounds the loop.
        while (SendAppend(m.From, sendIfEmpty: false)) { }
        if (m.From == _leadTransferee && pr.Match == _log.LastIndex) SendTimeoutNow(m.From);
    }

    private void HandleHeartbeatResponse(Message m)
    {
        if (!_progress.TryGetValue(m.From, out var pr)) return;
        pr.RecentActive = true;
        pr.ProbeSent = false;
        if (pr.Match < _log.LastIndex)
        {
            // With a full window, the appends that filled it may all have been lost, and nothing would ever free it.
            // An empty append at Next checks without resending anything: the follower acknowledges it (the window
            // frees) or rejects it (back to probing from its hint). A slow follower is not flooded with copies.
            if (pr.State == ProgressState.Replicate && pr.IsPaused) SendEmptyAppend(m.From, pr);
            else SendAppend(m.From, sendIfEmpty: true);
        }
        if (m.Context != 0) ReadAcknowledged(m.From, m.Context);
    }

    /// <summary>
    /// Commit rule (paper section 5.3 and 5.4.2, figure 8): the highest index a majority holds (of both halves of a
    /// joint configuration, thesis section 4.3; learners never count), but only if that entry is from the current term.
    /// </summary>
    private bool MaybeCommit() => _log.MaybeCommit(Quorum.CommittedIndex(_conf, new MatchLookup(_progress)), Term);

    private void OnCommitAdvanced()
    {
        // Followers learn the new commit index right away rather than at the next heartbeat.
        BroadcastAppend();
        ReleaseReadsWaitingForCommit();
    }
}
