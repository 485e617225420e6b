using RaftKv.Raft.Tracking;

namespace RaftKv.Raft;

public sealed partial class RaftNode
{
    private void TickElection()
    {
        _electionElapsedTicks++;
        if (Promotable && _electionElapsedTicks >= _randomizedElectionTimeoutTicks)
        {
            _electionElapsedTicks = 0;
            Hup(transfer: false);
        }
        else if (Role == RaftRole.PreCandidate && _config.PreVoteRetryTicks > 0 && _electionElapsedTicks % _config.PreVoteRetryTicks == 0)
        {
            // Ask again: a peer that ignored us because it heard from the old leader just before may grant now.
            _votes.Clear();
            Poll(Id, MessageType.PreVoteResponse, granted: true);
            RequestVotes(MessageType.PreVote, Term + 1, transfer: false);
        }
    }

    private void TickLeader()
    {
        _heartbeatElapsedTicks++;
        _electionElapsedTicks++;
        if (_electionElapsedTicks >= _config.ElectionTimeoutTicks)
        {
            _electionElapsedTicks = 0;
            if (_config.CheckQuorum && !CheckQuorumActive()) return; // stepped down
            if (_leadTransferee != None) AbortLeaderTransfer("it did not finish within an election timeout");
        }
        if (_heartbeatElapsedTicks >= _config.HeartbeatTimeoutTicks)
        {
            _heartbeatElapsedTicks = 0;
            BroadcastHeartbeat(PendingReadContext);
        }
    }

    /// <summary>CheckQuorum (thesis section 6.2): false (and steps down) when a quorum was silent for an election timeout.</summary>
    private bool CheckQuorumActive()
    {
        var active = 0;
        var activeQuorum = _conf.IsQuorum(id => id == Id || (_progress.TryGetValue(id, out var pr) && pr.RecentActive));
        foreach (var id in _peers)
        {
            if (_conf.IsVoter(id) && _progress[id].RecentActive) active++;
        }
        foreach (var (id, pr) in _progress) pr.RecentActive = id == Id;
        if (activeQuorum) return true;
        Emit(RaftEventKind.SteppedDown, $"{Me} stepped down: lost contact with a quorum of {_conf} at term {Term} ({active + 1} voters active)");
        BecomeFollower(Term, None);
        return false;
    }

    private void Hup(bool transfer)
    {
        if (Role == RaftRole.Leader || !Promotable) return;
        if (HasUnappliedConfChange())
        {
            Emit(RaftEventKind.ConfigurationChange, $"{Me} did not campaign at term {Term}: a committed configuration change is not applied yet");
            return;
        }
        if (_config.PreVote && !transfer) StartPreVote();
        else StartElection(transfer);
    }

    /// <summary>Pre-vote round (thesis section 9.6): ask whether we could win at Term + 1 without raising anyone's term.</summary>
    private void StartPreVote()
    {
        BecomePreCandidate();
        if (Poll(Id, MessageType.PreVoteResponse, granted: true) == VoteResult.Won)
        {
            StartElection(transfer: false);
            return;
        }
        RequestVotes(MessageType.PreVote, Term + 1, transfer: false);
    }

    /// <summary>A real election (paper section 5.2): new term, vote for ourselves, ask everyone.</summary>
    private void StartElection(bool transfer)
    {
        BecomeCandidate();
        if (Poll(Id, MessageType.VoteResponse, granted: true) == VoteResult.Won)
        {
            BecomeLeader();
            BroadcastAppend();
            return;
        }
        RequestVotes(MessageType.Vote, Term, transfer);
    }

    private void RequestVotes(MessageType type, ulong term, bool transfer)
    {
        var lastIndex = _log.LastIndex;
        var lastTerm = _log.LastTerm;
        foreach (var voter in _peers)
        {
            if (!_conf.IsVoter(voter)) continue; // learners do not vote
            Send(new Message
            {
                Type = type, From = Id, To = voter, Term = term, Index = lastIndex, LogTerm = lastTerm,
                Context = transfer ? Message.CampaignTransferContext : 0,
            });
        }
    }

    private VoteResult Poll(ulong from, MessageType type, bool granted)
    {
        if (!_conf.IsVoter(from)) return VoteResult.Pending;
        var kind = type == MessageType.PreVoteResponse ? "pre-vote" : "vote";
        var term = type == MessageType.PreVoteResponse ? Term + 1 : Term;
        if (_votes.TryAdd(from, granted) && from != Id)
        {
            Emit(granted ? RaftEventKind.VoteReceived : RaftEventKind.VoteRejected,
                granted ? $"{Me} received {kind} from {Name(from)} at term {term}" : $"{Me} was refused {kind} by {Name(from)} at term {term}");
        }
        return Quorum.Count(_conf, _votes);
    }

    private void Reset(ulong term)
    {
        if (Term != term)
        {
            RaftInvariantException.Assert(term > Term, $"{Me} term would go back from {Term} to {term}");
            Term = term;
            Vote = None;
        }
        Lead = None;
        _electionElapsedTicks = 0;
        _heartbeatElapsedTicks = 0;
        _randomizedElectionTimeoutTicks = _config.ElectionTimeoutTicks + _random.Next(_config.ElectionTimeoutTicks);
        _leadTransferee = None;
        _votes.Clear();
        _uncommittedBytes = 0;
        ResetReads();
        _progress.Clear();
        var next = _log.LastIndex + 1;
        foreach (var id in _conf.AllIds())
        {
            var pr = new Progress(next, _config.MaxInflightMsgs, _config.MaxInflightBytes);
            if (id == Id) pr.SetSelf(_log.StableLastIndex);
            _progress[id] = pr;
        }
    }

    private void BecomeFollower(ulong term, ulong lead)
    {
        var changed = Role != RaftRole.Follower || term != Term;
        Reset(term);
        Lead = lead;
        Role = RaftRole.Follower;
        if (changed) Emit(RaftEventKind.BecameFollower, $"{Me} became follower at term {Term}");
    }

    private void BecomePreCandidate()
    {
        if (Role == RaftRole.Leader) throw new RaftInvariantException($"{Me}: invalid transition leader -> pre-candidate");
        // Like Reset, but the term and vote stay: a pre-vote changes nothing durable.
        _votes.Clear();
        Lead = None;
        _electionElapsedTicks = 0;
        _randomizedElectionTimeoutTicks = _config.ElectionTimeoutTicks + _random.Next(_config.ElectionTimeoutTicks);
        Role = RaftRole.PreCandidate;
        Emit(RaftEventKind.BecamePreCandidate, $"{Me} became pre-candidate at term {Term} (asking for term {Term + 1})");
    }

    private void BecomeCandidate()
    {
        if (Role == RaftRole.Leader) throw new RaftInvariantException($"{Me}: invalid transition leader -> candidate");
        Reset(Term + 1);
        Vote = Id;
        Role = RaftRole.Candidate;
        Emit(RaftEventKind.BecameCandidate, $"{Me} became candidate at term {Term}");
    }

    private void BecomeLeader()
    {
        if (Role == RaftRole.Follower) throw new RaftInvariantException($"{Me}: invalid transition follower -> leader");
        var voters = _votes.Where(v => v.Value).Select(v => Name(v.Key)).Order(StringComparer.Ordinal).ToArray();
        Reset(Term);
        Lead = Id;
        Role = RaftRole.Leader;
        _progress[Id].RecentActive = true;
        // A no-op entry of the new term (paper section 8): committing it commits everything before it and tells
        // the leader what is committed, which read-index needs.
        var noop = new Entry(_log.LastIndex + 1, Term, EntryType.Normal, default);
        _log.Append([noop]);
        // No configuration change before the no-op is applied: it may not be proposed before an entry of this term
        // commits (thesis section 4.1), and every change already in the log is applied by then.
        _pendingConfIndex = noop.Index;
        Emit(RaftEventKind.BecameLeader, $"{Me} became leader at term {Term} (votes: {string.Join(", ", voters)})");
    }
}
