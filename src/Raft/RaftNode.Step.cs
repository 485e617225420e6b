namespace RaftKv.Raft;

public sealed partial class RaftNode
{
    /// <summary>
    /// Handles a message from another node. The message is validated in full first; then terms are compared
    /// (paper section 5.1: a higher term makes anyone a follower, a lower one is stale), and the message is
    /// dispatched by role.
    /// </summary>
    /// <exception cref="InvalidMessageException">
    /// The message is malformed or contradicts this node's log; nothing changed, and the host may drop it.
    /// </exception>
    /// <exception cref="RaftInvariantException">
    /// A bug or a broken cluster (for example two leaders in one term); the node must be discarded, as after any
    /// other exception.
    /// </exception>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        EnsureNoOutstandingReady();
        Validate(message);

        // Term 0: a request forwarded on behalf of a local caller (validation allows no other message without one).
        if (message.Term != 0 && message.Term > Term)
        {
            if (!StepHigherTerm(message)) return;
        }
        else if (message.Term != 0 && message.Term < Term)
        {
            StepLowerTerm(message);
            return;
        }

        switch (message.Type)
        {
            case MessageType.Vote or MessageType.PreVote:
                HandleVoteRequest(message);
                return;
            default:
                switch (Role)
                {
                    case RaftRole.Leader: StepLeader(message); break;
                    case RaftRole.Candidate or RaftRole.PreCandidate: StepCandidate(message); break;
                    default: StepFollower(message); break;
                }
                return;
        }
    }

    /// <summary>Returns false when the message must be ignored.</summary>
    private bool StepHigherTerm(Message m)
    {
        if (m.Type is MessageType.Vote or MessageType.PreVote)
        {
            // Leader lease (thesis section 6.2 with 9.6): while we hear from a leader, a node that timed out alone
            // (partitioned, then rejoining) must not depose it. A leadership transfer overrides this.
            var transfer = m.Context == Message.CampaignTransferContext;
            var inLease = _config.CheckQuorum && Lead != None && _electionElapsedTicks < _config.ElectionTimeoutTicks;
            if (!transfer && inLease)
            {
                Emit(RaftEventKind.VoteIgnored,
                    $"{Me} ignored {(m.Type == MessageType.PreVote ? "pre-vote" : "vote")} request from {Name(m.From)} at term {m.Term}: leader {Name(Lead)} is alive");
                return false;
            }
        }
        if (m.Type == MessageType.PreVote) return true; // a pre-vote never changes our term
        if (m.Type == MessageType.PreVoteResponse && !m.Reject) return true; // granted pre-votes carry the future term
        var wasCampaigningOrLeading = Role != RaftRole.Follower;
        var leader = m.Type is MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot ? m.From : None;
        var oldRole = Role;
        BecomeFollower(m.Term, leader);
        if (wasCampaigningOrLeading)
            Emit(RaftEventKind.SteppedDown, $"{Me} stepped down: higher term {m.Term} from {Name(m.From)} (was {RoleName(oldRole)})");
        return true;
    }

    private void StepLowerTerm(Message m)
    {
        if ((_config.CheckQuorum || _config.PreVote) && m.Type is MessageType.Append or MessageType.Heartbeat)
        {
            // A deposed leader that missed the election: tell it the term so it steps down. Without this, with
            // pre-vote or check-quorum a partitioned old leader could keep the cluster's followers from campaigning.
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term });
        }
        else if (m.Type == MessageType.PreVote)
        {
            // Reject with our term so the pre-candidate learns it is behind.
            Send(new Message { Type = MessageType.PreVoteResponse, From = Id, To = m.From, Term = Term, Reject = true });
        }
        // Anything else from an old term is stale and dropped (paper section 5.1).
    }

    private void HandleVoteRequest(Message m)
    {
        var pre = m.Type == MessageType.PreVote;
        // Paper section 5.2: one vote per term, first come first served; a repeated request from the candidate we
        // already voted for is answered again. A pre-vote for a future term does not bind us.
        var canVote = Vote == m.From || (Vote == None && Lead == None) || (pre && m.Term > Term);
        var kind = pre ? "pre-vote" : "vote";
        if (canVote && _log.IsUpToDate(m.Index, m.LogTerm))
        {
            Send(new Message { Type = m.Type.VoteResponseType(), From = Id, To = m.From, Term = m.Term });
            if (!pre)
            {
                _electionElapsedTicks = 0;
                Vote = m.From;
            }
            Emit(RaftEventKind.VoteGranted, $"{Me} granted {kind} to {Name(m.From)} at term {m.Term}");
        }
        else
        {
            Send(new Message { Type = m.Type.VoteResponseType(), From = Id, To = m.From, Term = Term, Reject = true });
        }
    }

    private void StepLeader(Message m)
    {
        switch (m.Type)
        {
            case MessageType.AppendResponse: HandleAppendResponse(m); break;
            case MessageType.HeartbeatResponse: HandleHeartbeatResponse(m); break;
            case MessageType.ReadIndex: LeaderReadIndex(m.From, m.Context); break;
            case MessageType.TransferLeader: LeaderTransfer(m.Context); break;
            case MessageType.Append or MessageType.Heartbeat or MessageType.Snapshot:
                // Election safety (paper section 5.2): at most one leader per term.
                throw new RaftInvariantException($"{Me} is leader at term {Term} but got {m.Type} from {Name(m.From)} in the same term");
            default: break; // late vote responses and the like
        }
    }

    private void StepCandidate(Message m)
    {
        var expected = Role == RaftRole.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        switch (m.Type)
        {
            case MessageType.Append:
                BecomeFollower(m.Term, m.From);
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                BecomeFollower(m.Term, m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                BecomeFollower(m.Term, m.From);
                HandleSnapshot(m);
                break;
            default:
                if (m.Type != expected) break;
                switch (Poll(m.From, m.Type, !m.Reject))
                {
                    case Tracking.VoteResult.Won:
                        if (Role == RaftRole.PreCandidate) StartElection(transfer: false);
                        else
                        {
                            BecomeLeader();
                            BroadcastAppend();
                        }
                        break;
                    case Tracking.VoteResult.Lost:
                        BecomeFollower(Term, None);
                        break;
                }
                break;
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
                AcceptLeader(m.From);
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                AcceptLeader(m.From);
                HandleHeartbeat(m);
                break;
            case MessageType.Snapshot:
                AcceptLeader(m.From);
                HandleSnapshot(m);
                break;
            case MessageType.TransferLeader:
                if (Lead != None) Send(new Message { Type = MessageType.TransferLeader, From = Id, To = Lead, Context = m.Context });
                break;
            case MessageType.TimeoutNow:
                // The leader chose us (thesis section 3.10): campaign at once, skipping pre-vote and leases.
                if (Promotable && !HasUnappliedConfChange())
                {
                    Emit(RaftEventKind.LeadershipTransfer, $"{Me} was asked by {Name(m.From)} to take over leadership at term {Term}");
                    StartElection(transfer: true);
                }
                break;
            case MessageType.ReadIndexResponse:
                _readStates.Add(new ReadState(m.Context, m.Index));
                break;
            default: break;
        }
    }

    private void AcceptLeader(ulong leader)
    {
        // Election safety: in one term we follow one leader.
        RaftInvariantException.Assert(Lead == None || Lead == leader,
            $"{Me} follows {Name(Lead)} at term {Term} but {Name(leader)} also acts as leader");
        _electionElapsedTicks = 0;
        Lead = leader;
    }

    private static string RoleName(RaftRole role) => role switch
    {
        RaftRole.PreCandidate => "pre-candidate",
        _ => role.ToString().ToLowerInvariant(),
    };
}
