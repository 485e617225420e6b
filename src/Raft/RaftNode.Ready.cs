namespace RaftKv.Raft;

public sealed partial class RaftNode
{
    /// <summary>Whether <see cref="GetReady"/> would return any work.</summary>
    public bool HasReady
    {
        get
        {
            EnsureNoOutstandingReady();
            FlushReadBroadcast();
            return new SoftState(Lead, Role) != _lastSoftState
                || CurrentHardState != _lastHardState
                || _log.UnstableEntries.Count > 0
                || _log.PendingSnapshot is not null
                || _log.HasNextCommittedEntries
                || _messages.Count > 0
                || _readStates.Count > 0
                || _events.Count > 0;
        }
    }

    private HardState CurrentHardState => new(Term, Vote, _log.Committed);

    private static bool IsLeaderMessage(Message m) => m.Type is MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot
        or MessageType.TimeoutNow or MessageType.ReadIndexResponse;

    /// <summary>
    /// Takes the work accumulated since the last call. The host must carry it out in the order documented on
    /// <see cref="Ready"/> and then call <see cref="Advance"/>; no other call is allowed in between.
    /// </summary>
    public Ready GetReady()
    {
        EnsureNoOutstandingReady();
        FlushReadBroadcast();
        var soft = new SoftState(Lead, Role);
        var hard = CurrentHardState;
        var entries = _log.UnstableEntries.Count == 0 ? [] : _log.UnstableEntries.ToArray();
        var committed = new List<Entry>();
        _log.NextCommittedEntries(_config.MaxCommittedSizePerReadyBytes, committed);
        // Invariant: nothing is applied before it is persisted; entries handed out for persisting now are persisted
        // in the same Ready before the host applies.
        var ready = new Ready
        {
            SoftState = soft != _lastSoftState ? soft : null,
            HardState = hard != _lastHardState ? hard : null,
            Entries = entries,
            Snapshot = _log.PendingSnapshot,
            CommittedEntries = committed,
            Messages = _messages,
            ReadStates = _readStates,
            Events = _events,
            DroppedEvents = _droppedEvents,
            MessagesMayPrecedePersist = _messages.Count > 0 && Role == RaftRole.Leader && _log.PendingSnapshot is null
                && hard.Term == _lastHardState.Term && hard.Vote == _lastHardState.Vote && _messages.TrueForAll(IsLeaderMessage),
            MustSync = entries.Length > 0 || hard.Term != _lastHardState.Term || hard.Vote != _lastHardState.Vote
                || _log.PendingSnapshot is not null,
        };
        _messages = [];
        _readStates = [];
        _events = [];
        _droppedEvents = 0;
        _outstandingReady = ready;
        return ready;
    }

    /// <summary>
    /// Acknowledges that the host persisted, sent and applied everything in the last <see cref="Ready"/>.
    /// </summary>
    public void Advance()
    {
        var ready = _outstandingReady ?? throw new InvalidOperationException("Advance() without an outstanding Ready");
        _outstandingReady = null;
        if (ready.SoftState is { } soft) _lastSoftState = soft;
        if (ready.HardState is { } hard) _lastHardState = hard;
        if (ready.Snapshot is { } snapshot)
        {
            _log.StableSnapTo(snapshot.Index);
            _log.AppliedSnapshot(snapshot.Index);
        }
        if (ready.Entries.Count > 0)
        {
            var last = ready.Entries[^1];
            _log.StableTo(last.Index, last.Term);
        }
        if (ready.CommittedEntries.Count > 0)
        {
            _log.AppliedTo(ready.CommittedEntries[^1].Index);
            if (Role == RaftRole.Leader)
            {
                foreach (var e in ready.CommittedEntries) _uncommittedBytes -= e.Data.Length;
                if (_uncommittedBytes < 0) _uncommittedBytes = 0;
            }
        }
        if (Role == RaftRole.Leader)
        {
            // The leader counts itself only for entries it has persisted (thesis section 10.2.1 allows more, but
            // this keeps "acknowledged implies durable on a quorum" true without exceptions).
            _progress[Id].SetSelf(_log.StableLastIndex);
            if (MaybeCommit()) OnCommitAdvanced();
            MaybeAutoLeave();
        }
    }
}
