namespace RaftKv.Raft.Hosting;

public sealed partial class TypedRaftHost<TCommand, TResult>
{
    /// <summary>The leader this node knows of, or 0 (<see cref="RaftNode.None"/>) when none is known or before start.</summary>
    public ulong LeaderId => Status?.Leader ?? RaftNode.None;

    /// <summary>This node's current term (0 before start).</summary>
    public ulong Term => Status?.Term ?? 0;

    /// <summary>This node's role (<see cref="RaftRole.Follower"/> before start).</summary>
    public RaftRole Role => Status?.Role ?? RaftRole.Follower;

    /// <summary>True while this node is the leader: only then does <see cref="ProposeAsync"/> accept commands.</summary>
    public bool IsLeader => Role == RaftRole.Leader;

    /// <summary>The highest log index known to be committed on a majority (0 before start).</summary>
    public ulong CommitIndex => Status?.Commit ?? 0;

    /// <summary>The highest log index applied to <see cref="StateMachine"/> on this node (0 before start).</summary>
    public ulong AppliedIndex => Status?.Applied ?? 0;

    /// <summary>
    /// The configuration (voters, learners, joint state) as applied on this node; <see cref="ConfState.Empty"/> before
    /// start and until a member whose configuration is in its log has applied it. See <see cref="RaftHost.Configuration"/>.
    /// </summary>
    public ConfState Configuration => Host.Configuration;

    /// <summary>
    /// Raised on the loop thread after a committed configuration change was applied on this node, with the
    /// configuration it resulted in. A snapshot installed from the leader replaces the configuration without it.
    /// </summary>
    public event Action<ConfState>? ConfigurationChanged
    {
        add
        {
            if (value is null) return;
            lock (_configurationHandlers)
            {
                if (_configurationHandlers.Count == 0) Host.ConfigurationApplied += RaiseConfigurationChanged;
                _configurationHandlers.Add(value);
            }
        }
        remove
        {
            if (value is null) return;
            lock (_configurationHandlers)
            {
                if (!_configurationHandlers.Remove(value) || _configurationHandlers.Count > 0) return;
                Host.ConfigurationApplied -= RaiseConfigurationChanged;
            }
        }
    }

    private readonly List<Action<ConfState>> _configurationHandlers = [];

    private void RaiseConfigurationChanged(Entry entry, ConfState configuration)
    {
        Action<ConfState>[] handlers;
        lock (_configurationHandlers) handlers = [.. _configurationHandlers];
        foreach (var handler in handlers) handler(configuration);
    }

    /// <summary>
    /// Adds <paramref name="nodeId"/> as a learner (thesis section 4.2.1): it receives the log but does not vote, so
    /// a slow newcomer cannot stall commits. Promote it with <see cref="PromoteLearnerAsync"/> once caught up.
    /// Completes with the configuration as applied here once the change committed; fails as
    /// <see cref="ProposeConfChangeAsync"/> does. <paramref name="context"/> travels with the change to every
    /// member's state machine (for example the new member's address).
    /// </summary>
    public ValueTask<ConfState> AddLearnerAsync(ulong nodeId, ReadOnlyMemory<byte> context = default, CancellationToken cancellationToken = default) =>
        ChangeAsync(ConfChangeType.AddLearner, nodeId, context, cancellationToken);

    /// <summary>
    /// Turns the learner <paramref name="nodeId"/> into a voter. Do it once the leader's match index for it
    /// (<see cref="RaftStatus.Progress"/>) is close to the leader's last index, or the cluster may wait for it to
    /// catch up before committing. Completes and fails as <see cref="AddLearnerAsync"/>.
    /// </summary>
    public ValueTask<ConfState> PromoteLearnerAsync(ulong nodeId, CancellationToken cancellationToken = default) =>
        ChangeAsync(ConfChangeType.PromoteLearner, nodeId, default, cancellationToken);

    /// <summary>
    /// Adds <paramref name="nodeId"/> directly as a voter. Prefer <see cref="AddLearnerAsync"/> then
    /// <see cref="PromoteLearnerAsync"/>: a voter with an empty log counts toward the quorum at once. Completes and
    /// fails as <see cref="AddLearnerAsync"/>.
    /// </summary>
    public ValueTask<ConfState> AddVoterAsync(ulong nodeId, ReadOnlyMemory<byte> context = default, CancellationToken cancellationToken = default) =>
        ChangeAsync(ConfChangeType.AddVoter, nodeId, context, cancellationToken);

    /// <summary>
    /// Removes the voter or learner <paramref name="nodeId"/> (it may be this node, or the leader: a removed leader
    /// steps down once the change is committed). Completes and fails as <see cref="AddLearnerAsync"/>.
    /// </summary>
    public ValueTask<ConfState> RemoveMemberAsync(ulong nodeId, CancellationToken cancellationToken = default) =>
        ChangeAsync(ConfChangeType.Remove, nodeId, default, cancellationToken);

    /// <summary>
    /// Proposes any configuration change (several nodes at once go through joint consensus, thesis section 4.3) and
    /// completes with the configuration as applied here once it committed. Fails with <see cref="NotLeaderException"/>
    /// on a follower, <see cref="ConfChangeRefusedException"/> when the leader refuses it (another change pending, a
    /// transfer in progress, not applicable), <see cref="ProposalDroppedException"/> or <see cref="NodeStoppedException"/>.
    /// </summary>
    public async ValueTask<ConfState> ProposeConfChangeAsync(ConfChange change, CancellationToken cancellationToken = default)
    {
        await Host.ProposeConfChangeAsync(change, cancellationToken).ConfigureAwait(false);
        return Host.Configuration;
    }

    /// <summary>
    /// Asks the leader (this node) to hand leadership to <paramref name="target"/> (thesis section 3.10); the
    /// status says whether the request was taken, <see cref="LeaderChanged"/> tells when the target took over.
    /// </summary>
    public ValueTask<RequestStatus> TransferLeadershipAsync(ulong target, CancellationToken cancellationToken = default) =>
        Host.TransferLeadershipAsync(target, cancellationToken);

    private ValueTask<ConfState> ChangeAsync(ConfChangeType type, ulong nodeId, ReadOnlyMemory<byte> context, CancellationToken cancellationToken)
    {
        if (nodeId == RaftNode.None) throw new ArgumentOutOfRangeException(nameof(nodeId), "a node id is non-zero");
        return ProposeConfChangeAsync(ConfChange.Single(type, nodeId, context), cancellationToken);
    }
}
