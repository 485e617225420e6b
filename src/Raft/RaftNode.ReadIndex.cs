using RaftKv.Raft.Tracking;

namespace RaftKv.Raft;

public sealed partial class RaftNode
{
    // Read-index state (thesis section 6.4). Reads are numbered by a leader-local sequence; a heartbeat carries the
    // newest sequence, and a follower's ack of sequence s confirms leadership for every read with sequence <= s.
    private readonly List<PendingRead> _pendingReads = [];          // Invariant: ascending Seq.
    private readonly List<(ulong From, ulong RequestId)> _readsWaitingForCommit = [];
    private readonly Dictionary<ulong, ulong> _readAckedSeq = [];
    private ulong _readSeq;
    private bool _readBroadcastPending;

    private readonly record struct PendingRead(ulong Seq, ulong From, ulong RequestId, ulong Index);

    private ulong PendingReadContext => _pendingReads.Count > 0 ? _pendingReads[^1].Seq : 0;

    /// <summary>
    /// Asks for a linearizable read point (thesis section 6.4). The answer arrives as a <see cref="ReadState"/>
    /// with <paramref name="requestId"/> in a later <see cref="Ready"/>; serve the read once the state machine has
    /// applied its index. A follower forwards the request to the leader. If leadership changes, no answer comes:
    /// the host times the request out and retries.
    /// </summary>
    public RequestStatus ReadIndex(ulong requestId)
    {
        EnsureNoOutstandingReady();
        if (Role == RaftRole.Leader) return LeaderReadIndex(Id, requestId);
        if (Lead == None) return RequestStatus.NoLeader;
        Send(new Message { Type = MessageType.ReadIndex, From = Id, To = Lead, Context = requestId });
        return RequestStatus.Forwarded;
    }

    private RequestStatus LeaderReadIndex(ulong from, ulong requestId)
    {
        if (_pendingReads.Count + _readsWaitingForCommit.Count >= _config.MaxPendingReadIndex) return RequestStatus.TooManyPending;
        if (_log.TermOrZero(_log.Committed) != Term)
        {
            // A new leader does not know the commit index until its no-op commits (thesis section 6.4 step 1).
            _readsWaitingForCommit.Add((from, requestId));
            return RequestStatus.Accepted;
        }
        StartRead(from, requestId);
        return RequestStatus.Accepted;
    }

    private void StartRead(ulong from, ulong requestId)
    {
        if (!_conf.IsJoint && _conf.Voters.Count == 1)
        {
            AnswerRead(from, requestId, _log.Committed);
            return;
        }
        // Reads arriving before the next broadcast share one heartbeat round.
        if (!_readBroadcastPending)
        {
            _readSeq++;
            _readBroadcastPending = true;
        }
        _pendingReads.Add(new PendingRead(_readSeq, from, requestId, _log.Committed));
    }

    private void FlushReadBroadcast()
    {
        if (!_readBroadcastPending) return;
        _readBroadcastPending = false;
        if (Role == RaftRole.Leader) BroadcastHeartbeat(_readSeq);
    }

    private void ReadAcknowledged(ulong from, ulong seq)
    {
        if (_pendingReads.Count == 0 || !_conf.IsVoter(from)) return;
        if (!_readAckedSeq.TryGetValue(from, out var prev) || seq > prev) _readAckedSeq[from] = seq;
        var confirmed = Quorum.CommittedIndex(_conf, new ReadAckLookup(Id, _readSeq, _readAckedSeq));
        var released = 0;
        while (released < _pendingReads.Count && _pendingReads[released].Seq <= confirmed)
        {
            var read = _pendingReads[released];
            AnswerRead(read.From, read.RequestId, read.Index);
            released++;
        }
        _pendingReads.RemoveRange(0, released);
    }

    private void AnswerRead(ulong from, ulong requestId, ulong index)
    {
        if (from == Id) _readStates.Add(new ReadState(requestId, index));
        else Send(new Message { Type = MessageType.ReadIndexResponse, From = Id, To = from, Term = Term, Index = index, Context = requestId });
    }

    private void ReleaseReadsWaitingForCommit()
    {
        if (_readsWaitingForCommit.Count == 0 || _log.TermOrZero(_log.Committed) != Term) return;
        foreach (var (from, requestId) in _readsWaitingForCommit) StartRead(from, requestId);
        _readsWaitingForCommit.Clear();
    }

    private readonly struct ReadAckLookup(ulong self, ulong selfSeq, Dictionary<ulong, ulong> acked) : IIndexLookup
    {
        public ulong IndexOf(ulong id) => id == self ? selfSeq : acked.GetValueOrDefault(id);
    }

    private void ResetReads()
    {
        // Requests in flight are abandoned: the host's timeout answers them. The sequence keeps increasing so an
        // ack from an older term can never confirm a newer read.
        _pendingReads.Clear();
        _readsWaitingForCommit.Clear();
        _readAckedSeq.Clear();
        _readBroadcastPending = false;
    }
}
