namespace RaftKv.Raft;

public sealed partial class RaftNode
{
    private ulong _leadTransferee;

    /// <summary>
    /// Hands leadership to <paramref name="target"/> (thesis section 3.10): the leader stops accepting proposals,
    /// brings the target up to date and tells it to campaign at once. Aborted if it takes an election timeout.
    /// A follower forwards the request to the leader.
    /// </summary>
    public RequestStatus TransferLeadership(ulong target)
    {
        EnsureNoOutstandingReady();
        if (Role == RaftRole.Leader) return LeaderTransfer(target);
        if (Lead == None) return RequestStatus.NoLeader;
        Send(new Message { Type = MessageType.TransferLeader, From = Id, To = Lead, Context = target });
        return RequestStatus.Forwarded;
    }

    private RequestStatus LeaderTransfer(ulong target)
    {
        if (target == Id || !_conf.IsIncomingVoter(target)) return RequestStatus.Invalid;
        if (_leadTransferee == target) return RequestStatus.Accepted;
        if (_leadTransferee != None) AbortLeaderTransfer($"a transfer to {Name(target)} was requested");
        _electionElapsedTicks = 0; // the transfer must finish within one election timeout
        _leadTransferee = target;
        Emit(RaftEventKind.LeadershipTransfer, $"{Me} is transferring leadership to {Name(target)} at term {Term}");
        if (_progress[target].Match == _log.LastIndex) SendTimeoutNow(target);
        else SendAppend(target, sendIfEmpty: true);
        return RequestStatus.Accepted;
    }

    private void SendTimeoutNow(ulong to) =>
        Send(new Message { Type = MessageType.TimeoutNow, From = Id, To = to, Term = Term });

    private void AbortLeaderTransfer(string why)
    {
        Emit(RaftEventKind.LeadershipTransfer, $"{Me} aborted leadership transfer to {Name(_leadTransferee)}: {why}");
        _leadTransferee = None;
    }
}
