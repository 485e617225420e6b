namespace RaftKv.Raft.Hosting;

public sealed partial class RaftHost
{
    // Loop-thread state.
    private readonly PendingProposals _pendingProposals = new();
    private readonly List<ProposeInput> _proposalBatch = [];
    private readonly List<ReadOnlyMemory<byte>> _proposalData = [];
    private ulong _lastSnapshotIndex;
    private SoftState _softState;

    private void RunLoop(TaskCompletionSource completion)
    {
        var node = _node!;
        var reader = _inbox.Reader;
        var time = _options.TimeProvider;
        var tickTicks = (long)(_options.TickInterval.TotalSeconds * time.TimestampFrequency);
        var nextTick = time.GetTimestamp() + tickTicks;
        if (_options.LoopThreadNice != 0 && LoopThreadPriority.TrySet(_options.LoopThreadNice) is { } why) LogNiceNotSet(_logger, _options.LoopThreadNice, why);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var handled = 0;
                while (handled < _options.MaxInputsPerIteration && reader.TryRead(out var input))
                {
                    Handle(node, input);
                    handled++;
                }
                var now = time.GetTimestamp();
                if (now >= nextTick)
                {
                    // Catch up at most a few ticks after a stall (a paused process must not fire a burst of elections).
                    var elapsedTicks = (now - nextTick) / tickTicks + 1;
                    for (var i = 0; i < Math.Min(elapsedTicks, _options.MaxCatchUpTicks); i++)
                    {
                        node.Tick();
                        _ticks++;
                    }
                    nextTick += elapsedTicks * tickTicks; // the first deadline after now; missed ticks beyond the cap are skipped
                }
                FlushProposals(node);
                ExpireAndRetryReads(node);
                while (node.HasReady) HandleReady(node, node.GetReady());
                MaybeSnapshot(node);
                _status = node.GetStatus();
                if (handled == 0 && !reader.TryPeek(out _))
                {
                    var waitMs = (int)Math.Clamp((nextTick - time.GetTimestamp()) * 1000 / time.TimestampFrequency + 1, 0, int.MaxValue);
                    _wake.WaitOne(waitMs);
                }
            }
            completion.TrySetResult();
        }
        catch (Exception e)
        {
            // Storage failure or a broken invariant: the node must not continue with state it cannot trust.
            LogFatal(_logger, e);
            _stoppedReason = $"fatal error: {e.Message}";
            completion.TrySetException(e);
        }
        finally
        {
            FailEverything(new NodeStoppedException(_stoppedReason ?? "stopped"));
        }
    }

    private void Handle(RaftNode node, HostInput input)
    {
        switch (input)
        {
            case MessageInput { Message: var m }:
                try
                {
                    node.Step(m);
                }
                catch (InvalidMessageException e)
                {
                    // Refused before the core changed anything. Any other exception from the core is a bug: it
                    // reaches RunLoop's handler and stops this member loudly.
                    LogInvalidMessage(_logger, m.From, e.Message);
                }
                break;
            case ProposeInput p:
                _proposalBatch.Add(p);
                break;
            case ReadInput r:
                StartRead(node, r);
                break;
            case ReportInput { Unreachable: true } report:
                node.ReportUnreachable(report.PeerId);
                break;
            case ReportInput report:
                node.ReportSnapshot(report.PeerId, report.SnapshotDelivered);
                break;
            case TransferInput t:
                t.Completion.TrySetResult(node.TransferLeadership(t.Target));
                break;
            case ConfChangeInput c:
                ProposeConfChange(node, c);
                break;
            case AdvanceElectionInput a:
                node.AdvanceElectionTimer(a.ElapsedTicks);
                break;
        }
    }

    /// <summary>Proposes one configuration change at once (never batched: at most one is in flight anyway).</summary>
    private void ProposeConfChange(RaftNode node, ConfChangeInput input)
    {
        if (_pendingProposals.Count + _proposalBatch.Count >= _options.MaxPendingProposals)
        {
            input.Completion.TrySetException(new ConfChangeRefusedException(ConfChangeRefusalKind.TooManyUncommitted, "too many proposals are waiting to commit"));
            return;
        }
        var result = node.ProposeConfChange(input.Change);
        if (result.IsAccepted)
        {
            _pendingProposals.Add(result.FirstIndex, result.Term, input.Completion);
            return;
        }
        input.Completion.TrySetException(result.Status switch
        {
            ProposeStatus.NotLeader => NotLeader(result),
            ProposeStatus.ConfChangePending => new ConfChangeRefusedException(ConfChangeRefusalKind.Pending, result.Reason ?? "another configuration change is not applied yet"),
            ProposeStatus.TransferInProgress => new ConfChangeRefusedException(ConfChangeRefusalKind.TransferInProgress, "leadership is being transferred"),
            ProposeStatus.ConfChangeRefused => new ConfChangeRefusedException(ConfChangeRefusalKind.Invalid, result.Reason ?? $"'{input.Change}' does not apply to {node.Membership}"),
            _ => new ConfChangeRefusedException(ConfChangeRefusalKind.TooManyUncommitted, "too many uncommitted entries"),
        });
    }

    private NotLeaderException NotLeader(ProposeResult result) =>
        new(result.LeaderHint, result.LeaderHint == RaftNode.None ? null : _options.Raft.NameOf(result.LeaderHint));

    /// <summary>All proposals gathered in this iteration become one batch: one append message per follower, one fsync.</summary>
    private void FlushProposals(RaftNode node)
    {
        if (_proposalBatch.Count == 0) return;
        try
        {
            if (_pendingProposals.Count + _proposalBatch.Count > _options.MaxPendingProposals)
            {
                foreach (var p in _proposalBatch) p.Completion.TrySetException(new ProposalDroppedException("too many proposals are waiting to commit"));
                return;
            }
            _proposalData.Clear();
            foreach (var p in _proposalBatch) _proposalData.Add(p.Command);
            var result = node.Propose(_proposalData);
            if (!result.IsAccepted)
            {
                Exception error = result.Status switch
                {
                    ProposeStatus.NotLeader => NotLeader(result),
                    ProposeStatus.TransferInProgress => new ProposalDroppedException("leadership is being transferred"),
                    _ => new ProposalDroppedException("too many uncommitted entries"),
                };
                foreach (var p in _proposalBatch) p.Completion.TrySetException(error);
                return;
            }
            for (var i = 0; i < _proposalBatch.Count; i++) _pendingProposals.Add(result.FirstIndex + (ulong)i, result.Term, _proposalBatch[i].Completion);
        }
        finally
        {
            _proposalBatch.Clear();
        }
    }

    private void HandleReady(RaftNode node, Ready rd)
    {
        // 1. Persist (one fsync for the whole batch), 2. send, 3. apply, 4. advance: see Ready. A leader's messages
        // may go first (thesis section 10.2.1), so the followers' fsyncs overlap its own.
        var sendFirst = rd.MessagesMayPrecedePersist;
        if (sendFirst) Send(rd.Messages);
        Persist(rd);
        if (!sendFirst && rd.Messages.Count > 0) Send(rd.Messages);
        if (rd.Snapshot is { } snapshot)
        {
            FailPoints.Hit(FailPoint.SnapshotBeforeRestore);
            _stateMachine.Restore(snapshot.Data);
            _lastSnapshotIndex = snapshot.Index;
            _pendingProposals.FailUpTo(snapshot.Index);
            _configuration = node.Membership;
        }
        foreach (var entry in rd.CommittedEntries) ApplyEntry(entry);
        Stats.RecordApplied(rd.CommittedEntries.Count);
        foreach (var rs in rd.ReadStates) ReadIndexKnown(rs);
        foreach (var e in rd.Events)
        {
            if (e.Kind is RaftEventKind.BecameLeader or RaftEventKind.BecameCandidate or RaftEventKind.SteppedDown
                or RaftEventKind.VoteReceived or RaftEventKind.LeadershipTransfer or RaftEventKind.SnapshotRestored)
                LogRoleEvent(_logger, e.Text);
            else LogDetailEvent(_logger, e.Text);
            EventRaised?.Invoke(e);
        }
        if (rd.DroppedEvents > 0) LogDroppedEvents(_logger, rd.DroppedEvents);
        node.Advance();
        if (rd.SoftState is { } soft) OnSoftState(soft);
        ReleaseReads(node.AppliedIndex);
        if (rd.HardState is { } hard) NoteTerm(hard.Term);
        if (_readsNeedReissue) ReissueReads(node);
    }

    private void Persist(Ready rd)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _store.Save(rd.HardState, rd.Entries, rd.Snapshot, rd.MustSync);
        Stats.RecordPersist(rd.Entries, rd.MustSync || rd.Snapshot is not null, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    private void Send(IReadOnlyList<Message> messages)
    {
        _transport.Send(messages);
        Stats.RecordSent(messages);
    }

    private void ApplyEntry(in Entry entry)
    {
        // A configuration change takes effect when applied (RaftNode.ApplyConfChange); the state machine sees the
        // entry too, so it can keep its own view of the members.
        var conf = entry.Type == EntryType.ConfChange ? _node!.ApplyConfChange(ConfChange.Decode(entry.Data.Span)) : null;
        if (conf is not null) _configuration = conf;
        object? result;
        try
        {
            result = _stateMachine.Apply(entry);
        }
        catch (Exception e)
        {
            // A state machine that cannot apply a committed entry would diverge from its peers: stop the node.
            throw new InvalidOperationException($"the state machine failed to apply entry {entry.Index} (term {entry.Term})", e);
        }
        if (conf is not null) ConfigurationApplied?.Invoke(entry, conf);
        _pendingProposals.Applied(entry, result);
        Applied?.Invoke(entry);
    }

    private void OnSoftState(SoftState soft)
    {
        var leaderChanged = soft.Leader != _softState.Leader || soft.Role != _softState.Role;
        _softState = soft;
        // The core abandons read requests when leadership moves (its own, or the one a forwarded read went to):
        // ask the new leader. Handled after Advance, so the core may take requests again.
        if (leaderChanged) _readsNeedReissue = true;
        LeaderChanged?.Invoke(soft);
    }

    private void FailEverything(Exception error)
    {
        _pendingProposals.FailAll(error);
        FailReads(error);
        foreach (var p in _proposalBatch) p.Completion.TrySetException(error);
        _proposalBatch.Clear();
        while (_inbox.Reader.TryRead(out var input))
        {
            switch (input)
            {
                case ProposeInput p: p.Completion.TrySetException(error); break;
                case ReadInput r: r.Completion.TrySetException(error); break;
                case TransferInput t: t.Completion.TrySetException(error); break;
                case ConfChangeInput c: c.Completion.TrySetException(error); break;
            }
        }
    }
}
