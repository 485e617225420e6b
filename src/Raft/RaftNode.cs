using RaftKv.Raft.Tracking;

namespace RaftKv.Raft;

/// <summary>
/// One Raft participant as a pure state machine: no I/O, no clock, no threads. A host drives it with
/// <see cref="Tick"/>, <see cref="Step"/>, <see cref="Propose(ReadOnlyMemory{byte})"/> and <see cref="ReadIndex"/>,
/// and carries out its decisions through <see cref="GetReady"/> and <see cref="Advance"/> (see <see cref="Ready"/>
/// for the order that keeps it safe).
/// </summary>
/// <remarks>
/// Not thread-safe: every call must come from one thread (or be serialized by the host). Invariant violations
/// throw <see cref="RaftInvariantException"/>, after which the node must be discarded.
/// </remarks>
public sealed partial class RaftNode
{
    /// <summary>The id meaning "no node" (no vote, no known leader).</summary>
    public const ulong None = 0;

    private readonly RaftConfig _config;
    private readonly Random _random;
    private readonly RaftLog _log;
    private readonly Dictionary<ulong, Progress> _progress = [];
    private readonly Dictionary<ulong, bool> _votes = [];
    private ConfState _conf = ConfState.Empty;

    private List<Message> _messages = [];
    private List<ReadState> _readStates = [];
    private List<RaftEvent> _events = [];
    private int _droppedEvents;

    private int _electionElapsedTicks;
    private int _heartbeatElapsedTicks;
    private int _randomizedElectionTimeoutTicks;
    private long _uncommittedBytes;

    private SoftState _lastSoftState;
    private HardState _lastHardState;
    private Ready? _outstandingReady;

    /// <summary>Creates a node from its configuration and persisted state.</summary>
    /// <param name="config">Settings; validated here.</param>
    /// <param name="storage">
    /// The persisted log and hard state: empty for a new node, or holding <see cref="RaftBootstrap"/>'s entries. A node
    /// with no membership (no <see cref="RaftConfig.Voters"/>, <see cref="RaftConfig.AppliedConfState"/> or snapshot)
    /// starts in <see cref="ConfState.Empty"/> and learns the configuration by applying the ConfChange entries of its log.
    /// </param>
    /// <param name="random">Source of election-timeout randomness; seed it for reproducible runs.</param>
    public RaftNode(RaftConfig config, IRaftStorage storage, Random random)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(random);
        config.Validate();
        _config = config;
        _random = random;
        _log = new RaftLog(storage, config.AppliedIndex);
        // No membership anywhere: the node learns it from its log (RaftBootstrap's entries, or a leader's appends or
        // snapshot after it was added); until then it is in no configuration and never campaigns.
        SetConf(config.AppliedConfState ?? storage.ConfState ?? (config.Voters.Count > 0 ? new ConfState(config.Voters) : ConfState.Empty));
        var hardState = storage.HardState;
        Term = hardState.Term;
        Vote = hardState.Vote;
        _lastHardState = new HardState(Term, Vote, _log.Committed);
        BecomeFollower(Term, None);
        _electionElapsedTicks = config.InitialElectionTickAdvance; // after the reset BecomeFollower made
        _lastSoftState = new SoftState(Lead, Role);
    }

    /// <summary>This node's id.</summary>
    public ulong Id => _config.Id;

    /// <summary>Current term (paper figure 2, currentTerm).</summary>
    public ulong Term { get; private set; }

    /// <summary>Candidate voted for in the current term, or <see cref="None"/> (paper figure 2, votedFor).</summary>
    public ulong Vote { get; private set; }

    /// <summary>The leader this node knows of in the current term, or <see cref="None"/>.</summary>
    public ulong Lead { get; private set; }

    /// <summary>Current role.</summary>
    public RaftRole Role { get; private set; }

    /// <summary>Highest index known to be committed.</summary>
    public ulong CommitIndex => _log.Committed;

    /// <summary>Highest index the host has applied.</summary>
    public ulong AppliedIndex => _log.Applied;

    /// <summary>Index of the last entry in the log (persisted or not).</summary>
    public ulong LastIndex => _log.LastIndex;

    /// <summary>
    /// The configuration in force on this node: as of its applied index (etcd-io/raft's rule: a change takes effect
    /// when <see cref="ApplyConfChange"/> applies it). This is the state to put in a snapshot taken at the applied index.
    /// </summary>
    public ConfState Membership => _conf;

    private string Name(ulong id) => _config.NameOf(id);

    private string Me => _config.NameOf(_config.Id);

    private bool Promotable => _conf.IsVoter(Id) && _log.PendingSnapshot is null;

    /// <summary>Advances logical time by one tick: elections for followers, heartbeats and quorum checks for leaders.</summary>
    public void Tick()
    {
        EnsureNoOutstandingReady();
        if (Role == RaftRole.Leader) TickLeader();
        else TickElection();
    }

    /// <summary>
    /// Counts at least <paramref name="elapsedTicks"/> ticks as elapsed on a leaderless follower's election timer, so it
    /// campaigns within its randomized timeout less those ticks (section 5.2's spread is kept). etcd's initial election
    /// tick advance, for a host that knows when it is worth it: once it listens and enough peers answer to elect
    /// (<see cref="RaftConfig.InitialElectionTickAdvance"/> does it at creation, before either is known). A node that
    /// has a leader, or is not a follower, is left alone. Needs <see cref="RaftConfig.PreVote"/>, as the creation-time
    /// advance does: an early pre-vote is refused by members that hear from a live leader, and changes no term.
    /// </summary>
    /// <param name="elapsedTicks">In [0, <see cref="RaftConfig.ElectionTimeoutTicks"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="elapsedTicks"/> is out of range.</exception>
    /// <exception cref="InvalidOperationException">Pre-vote is off, or a Ready is outstanding.</exception>
    public void AdvanceElectionTimer(int elapsedTicks)
    {
        EnsureNoOutstandingReady();
        ArgumentOutOfRangeException.ThrowIfNegative(elapsedTicks);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(elapsedTicks, _config.ElectionTimeoutTicks);
        if (!_config.PreVote) throw new InvalidOperationException("advancing the election timer needs PreVote: without it a member would depose a live leader");
        if (Role != RaftRole.Follower || Lead != None) return;
        _electionElapsedTicks = Math.Max(_electionElapsedTicks, elapsedTicks);
    }

    /// <summary>Starts an election now (or a pre-vote round, when enabled), as if the election timeout had passed.</summary>
    public void Campaign()
    {
        EnsureNoOutstandingReady();
        Hup(transfer: false);
    }

    /// <summary>Tells a leader that a message to <paramref name="id"/> could not be delivered, so it stops pipelining to it.</summary>
    public void ReportUnreachable(ulong id)
    {
        EnsureNoOutstandingReady();
        if (Role != RaftRole.Leader || !_progress.TryGetValue(id, out var pr)) return;
        if (pr.State == ProgressState.Replicate) pr.BecomeProbe();
    }

    /// <summary>Tells a leader whether the snapshot it asked to send to <paramref name="id"/> was delivered.</summary>
    public void ReportSnapshot(ulong id, bool success)
    {
        EnsureNoOutstandingReady();
        if (Role != RaftRole.Leader || !_progress.TryGetValue(id, out var pr) || pr.State != ProgressState.Snapshot) return;
        if (success) pr.BecomeProbe();
        else pr.AbortSnapshot();
        // Wait for the next heartbeat response before probing, so a failing follower is not flooded.
        pr.ProbeSent = true;
    }

    /// <summary>The node's state, for dashboards and tests.</summary>
    public RaftStatus GetStatus()
    {
        var progress = new List<FollowerProgress>();
        if (Role == RaftRole.Leader)
        {
            foreach (var (id, pr) in _progress)
            {
                if (id == Id) continue;
                progress.Add(new FollowerProgress(id, pr.Match, pr.Next, pr.State, pr.Inflights.Count, pr.RecentActive) { IsLearner = _conf.IsLearner(id) });
            }
            progress.Sort((a, b) => a.Id.CompareTo(b.Id));
        }
        return new RaftStatus
        {
            Id = Id, Term = Term, Vote = Vote, Leader = Lead, Role = Role, Commit = _log.Committed, Applied = _log.Applied,
            LastIndex = _log.LastIndex, LastTerm = _log.LastTerm, FirstIndex = _log.FirstIndex, Voters = _conf.Voters,
            Configuration = _conf,
            LeadTransferee = _leadTransferee, Progress = progress,
        };
    }

    private void Send(Message message)
    {
        RaftInvariantException.Assert(message.To != Id, $"{Me} tried to send {message.Type} to itself");
        if (_messages.Count >= _config.MaxOutboxMessages) return; // bounded: Raft tolerates lost messages
        _messages.Add(message);
    }

    private void Emit(RaftEventKind kind, string text)
    {
        if (_events.Count >= _config.MaxPendingEvents)
        {
            _events.RemoveAt(0);
            _droppedEvents++;
        }
        _events.Add(new RaftEvent(kind, Term, text));
    }

    private void EnsureNoOutstandingReady()
    {
        if (_outstandingReady is not null)
            throw new InvalidOperationException("the previous Ready has not been advanced; call Advance() first");
    }
}
