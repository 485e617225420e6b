using System.Text;

namespace RaftKv.Raft.Testing;

/// <summary>Where a crash strikes within the handling of a Ready.</summary>
public enum CrashPoint
{
    /// <summary>Before anything of the Ready is persisted: all of it is lost.</summary>
    BeforePersist,
    /// <summary>After persisting, before any message is sent.</summary>
    AfterPersist,
}

/// <summary>
/// A deterministic simulated cluster: N <see cref="RaftNode"/>s, their storage, a <see cref="SimNetwork"/>, and a
/// <see cref="SafetyChecker"/> run after every Ready and every tick. Everything random comes from one seed.
/// </summary>
public sealed class Cluster
{
    private readonly Func<RaftConfig, RaftConfig> _configure;
    private readonly Dictionary<ulong, CrashPoint> _crashDuringNextReady = [];
    private readonly List<(ulong From, ulong To, bool Delivered)> _snapshotReports = [];
    private readonly Dictionary<string, ulong> _proposedAt = [];
    // Reads in flight, by the node that issued them and its request id; the value is the highest index
    // acknowledged before the read began, which its answer must reach.
    private readonly Dictionary<(ulong NodeId, ulong RequestId), ulong> _pendingReads = [];
    private readonly Func<Random, ReadIdGenerator> _newReadIds;
    private readonly Random _readIdRandom;
    private readonly Func<ulong, RaftKv.Raft.Hosting.IStateMachine>? _stateMachines;

    /// <param name="nodes">Voters at the start, 1 to 9.</param>
    /// <param name="seed">Determines everything random.</param>
    /// <param name="configure">Adjusts each node's configuration.</param>
    /// <param name="readIds">
    /// Builds a node's read-id generator at every start (each start is a new incarnation), from a seeded random
    /// source; by default a <see cref="ReadIdGenerator"/> with a random seed, as a host does. Tests pass a naive
    /// one to show what the checker catches.
    /// </param>
    /// <param name="spares">
    /// Further servers that run from the start but are not in the configuration: membership changes add them
    /// (they know the bootstrap voters, as a server started with the initial cluster list does).
    /// </param>
    /// <param name="stateMachines">
    /// Makes the application's state machine for a server (at every start: a restart is a new process), so a test can
    /// run its own <see cref="RaftKv.Raft.Hosting.IStateMachine"/> under the simulator's faults and compare the
    /// servers' <see cref="SimNode.StateMachine"/>s. Commands are proposed as text (<see cref="Propose"/>): its
    /// codec reads UTF-8. Null: only the built-in list of applied commands.
    /// </param>
    /// <param name="bootstrap">
    /// The initial configuration is in the log, as etcd starts a cluster: each initial voter's storage holds
    /// <see cref="RaftBootstrap"/>'s entries (contexts <see cref="BootstrapContext"/>), no node is given
    /// <see cref="RaftConfig.Voters"/>, and spares start with empty storage in <see cref="ConfState.Empty"/>.
    /// </param>
    public Cluster(int nodes, long seed, Func<RaftConfig, RaftConfig>? configure = null, Func<Random, ReadIdGenerator>? readIds = null, int spares = 0,
        bool bootstrap = false, Func<ulong, RaftKv.Raft.Hosting.IStateMachine>? stateMachines = null)
    {
        _stateMachines = stateMachines;
        if (nodes is < 1 or > 9) throw new ArgumentOutOfRangeException(nameof(nodes));
        if (spares < 0 || nodes + spares > 26) throw new ArgumentOutOfRangeException(nameof(spares));
        Seed = seed;
        Random = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        Network = new SimNetwork(new Random(Random.Next()));
        _configure = configure ?? (c => c);
        // A separate source, so read ids do not shift the rest of a seed's run.
        _readIdRandom = new Random(unchecked((int)seed * 31 + 7));
        _newReadIds = readIds ?? (r => new ReadIdGenerator(unchecked((ulong)r.NextInt64(long.MinValue, long.MaxValue))));
        // Like a real transport, report whether a snapshot got through (RaftNode.ReportSnapshot's contract).
        Network.OnDropped = m =>
        {
            if (m.Type == MessageType.Snapshot) _snapshotReports.Add((m.From, m.To, false));
        };
        InitialVoters = Enumerable.Range(1, nodes).Select(i => (ulong)i).ToArray();
        Bootstrapped = bootstrap;
        Checker = new SafetyChecker(bootstrap ? ConfState.Empty : new ConfState(InitialVoters));
        Nodes = Enumerable.Range(1, nodes + spares).Select(i => new SimNode((ulong)i, NameOf((ulong)i))).ToArray();
        if (bootstrap)
        {
            var entries = RaftBootstrap.InitialEntries(InitialVoters.Select(id => (id, BootstrapContext(id))).ToArray());
            var hard = RaftBootstrap.InitialHardState(entries.Count);
            // Written before the nodes exist, as a server does; through the checker, like any persisted entry.
            foreach (var node in Nodes.Take(nodes))
            {
                Checker.OnEntriesPersisted(node, entries, commitWith: hard.Commit);
                node.Storage.Append(entries);
                Checker.OnHardStatePersisted(node, node.Storage.HardState, hard);
                node.Storage.SetHardState(hard);
            }
        }
        foreach (var node in Nodes) Start(node);
    }

    /// <summary>The context a bootstrapped voter's entry carries (a server would put the member's name and URLs there).</summary>
    public static ReadOnlyMemory<byte> BootstrapContext(ulong id) => Encoding.UTF8.GetBytes($"member {NameOf(id)}");

    /// <summary>Whether the initial configuration is in the log rather than in <see cref="RaftConfig.Voters"/>.</summary>
    public bool Bootstrapped { get; }

    /// <summary>The seed that determines the whole run: the same seed replays the same run.</summary>
    public long Seed { get; }

    /// <summary>The run's random source (derived from <see cref="Seed"/>), for a test's own random choices.</summary>
    public Random Random { get; }

    /// <summary>The simulated network between the servers.</summary>
    public SimNetwork Network { get; }

    /// <summary>The safety checker the cluster reports every persist, commit and apply to.</summary>
    public SafetyChecker Checker { get; }

    /// <summary>The bootstrap configuration's voters.</summary>
    public IReadOnlyList<ulong> InitialVoters { get; }

    /// <summary>The configuration as of the highest index any node applied (the checker's model of it).</summary>
    public ConfState Membership => Checker.Configuration;

    /// <summary>Nodes of the configuration in force (voters of either half and learners).</summary>
    public IEnumerable<SimNode> Members => Nodes.Where(n => Membership.Contains(n.Id));

    /// <summary>Recent events of the run (bounded), printed with a failure; set <see cref="Trace.Echo"/> to see them live.</summary>
    public Trace Trace { get; } = new();

    /// <summary>Simulated time, in ticks since the start.</summary>
    public long Now { get; private set; }

    /// <summary>Every server, voters and spares, indexed by id - 1.</summary>
    public IReadOnlyList<SimNode> Nodes { get; }

    /// <summary>The ids of <see cref="Nodes"/>.</summary>
    public IEnumerable<ulong> Ids => Nodes.Select(n => n.Id);

    /// <summary>Client writes whose entry was applied at the index the leader assigned: they must never be lost.</summary>
    public Dictionary<string, ulong> Acknowledged { get; } = [];

    /// <summary>Linearizable reads answered and checked.</summary>
    public int ReadsAnswered { get; private set; }

    /// <summary>The letter naming server <paramref name="id"/> in traces (1 is A).</summary>
    public static string NameOf(ulong id) => ((char)('A' + (int)id - 1)).ToString();

    /// <summary>The server named <paramref name="name"/> ("A", "B", ...).</summary>
    public SimNode this[string name] => Nodes.Single(n => n.Name == name);

    /// <summary>The server with id <paramref name="id"/>.</summary>
    public SimNode Node(ulong id) => Nodes[(int)id - 1];

    private void Start(SimNode node)
    {
        var config = _configure(new RaftConfig
        {
            Id = node.Id,
            Voters = Bootstrapped ? [] : InitialVoters,
            ElectionTimeoutTicks = 10,
            HeartbeatTimeoutTicks = 1,
            NameOf = NameOf,
            AppliedIndex = node.Storage.Snapshot?.Index ?? 0,
        });
        node.StateMachine = _stateMachines?.Invoke(node.Id);
        node.RestoreStateMachine(node.Storage.Snapshot?.Data ?? default);
        node.Raft = new RaftNode(config, node.Storage, new Random(Random.Next()));
        node.ReadIds = _newReadIds(_readIdRandom);
        node.LastSeenCommit = node.Raft.CommitIndex;
    }

    /// <summary>Stops a node at once: its memory is lost, its storage stays.</summary>
    public void Crash(ulong id)
    {
        var node = Node(id);
        if (node.Raft is null) return;
        Down(node);
        Trace.Add(Now, $"crash {node.Name}");
    }

    /// <summary>The process is gone: so is its read-id generator, and its clients' reads failed with it.</summary>
    private void Down(SimNode node)
    {
        node.Raft = null;
        node.LedTerm = 0;
        node.ReadIds = null;
        foreach (var key in _pendingReads.Keys.Where(k => k.NodeId == node.Id).ToArray()) _pendingReads.Remove(key);
    }

    /// <summary>Crashes the node in the middle of handling its next Ready.</summary>
    public void CrashDuringNextReady(ulong id, CrashPoint point) => _crashDuringNextReady[id] = point;

    /// <summary>Starts a crashed server again from what it persisted (a new incarnation: a fresh node and state machine restored from its snapshot).</summary>
    public void Restart(ulong id)
    {
        var node = Node(id);
        if (node.Raft is not null) return;
        node.Incarnation++;
        Start(node);
        Trace.Add(Now, $"restart {node.Name} (term {node.Raft!.Term}, last {node.Raft.LastIndex}, commit {node.Raft.CommitIndex})");
    }

    /// <summary>Splits the network into <paramref name="groups"/>: messages between groups are dropped until <see cref="Heal"/>.</summary>
    public void Partition(params ulong[][] groups)
    {
        Network.Partition(groups);
        Trace.Add(Now, "partition " + string.Join(" | ", groups.Select(g => string.Concat(g.Select(NameOf)))));
    }

    /// <summary>Cuts server <paramref name="id"/> off from every other server.</summary>
    public void Isolate(ulong id)
    {
        Network.Isolate(id, Ids);
        Trace.Add(Now, $"isolate {NameOf(id)}");
    }

    /// <summary>Ends all fault injection: heals partitions, stops loss and duplication, disarms pending crashes.</summary>
    public void StopFaults()
    {
        _crashDuringNextReady.Clear();
        Network.DropRate = 0;
        Network.DuplicateRate = 0;
        Network.Filter = null;
        Heal();
    }

    /// <summary>Removes every partition and cut link.</summary>
    public void Heal()
    {
        Network.Heal();
        Trace.Add(Now, "heal");
    }

    /// <summary>Runs one tick: every live node ticks, then messages and Readies are processed until quiet.</summary>
    public void Tick()
    {
        Now++;
        foreach (var node in Nodes) node.Raft?.Tick();
        Settle();
    }

    /// <summary>Processes Readies and due messages until nothing is left for this tick (bounded).</summary>
    public void Settle()
    {
        for (var round = 0; round < 1000; round++)
        {
            var any = false;
            foreach (var node in Nodes) any |= ProcessReady(node);
            var due = Network.TakeDue(Now);
            foreach (var m in due)
            {
                var to = Node(m.To);
                to.Raft?.Step(m);
                if (m.Type == MessageType.Snapshot) _snapshotReports.Add((m.From, m.To, to.IsUp));
            }
            var reports = _snapshotReports.Count;
            foreach (var (from, to, delivered) in _snapshotReports) Node(from).Raft?.ReportSnapshot(to, delivered);
            _snapshotReports.Clear();
            CheckLeaders();
            if (!any && due.Count == 0 && reports == 0) return;
        }
        Fail("the cluster did not settle within 1000 rounds in one tick (message storm)");
    }

    /// <summary>Advances <paramref name="ticks"/> ticks, delivering messages and handling Readies (see <see cref="Tick"/>).</summary>
    public void RunTicks(int ticks)
    {
        for (var i = 0; i < ticks; i++) Tick();
    }

    /// <summary>Ticks until <paramref name="condition"/> holds; false if it did not within <paramref name="maxTicks"/>.</summary>
    public bool RunUntil(Func<bool> condition, int maxTicks)
    {
        for (var i = 0; i < maxTicks; i++)
        {
            if (condition()) return true;
            Tick();
        }
        return condition();
    }

    /// <summary>As <see cref="RunUntil"/>, but fails the run (<see cref="SimulationFailure"/>) naming <paramref name="what"/> when the condition did not hold within <paramref name="maxTicks"/>.</summary>
    public void MustRunUntil(Func<bool> condition, int maxTicks, string what)
    {
        if (!RunUntil(condition, maxTicks)) Fail($"liveness: {what} did not happen within {maxTicks} ticks");
    }

    /// <summary>The live leader with the highest term, if any.</summary>
    public SimNode? Leader => Nodes.Where(n => n.Raft?.Role == RaftRole.Leader).MaxBy(n => n.Raft!.Term);

    /// <summary>Runs until some server leads, at most <paramref name="maxTicks"/> ticks; fails the run otherwise.</summary>
    public SimNode WaitForLeader(int maxTicks = 500)
    {
        MustRunUntil(() => Leader is { } leader
                && leader.Raft!.Membership.IsQuorum(id => Node(id) is { IsUp: true } n && n.Raft!.Lead == leader.Id),
            maxTicks, "electing a leader a quorum follows");
        return Leader!;
    }

    /// <summary>Proposes a client write on <paramref name="node"/> (the leader by default); tracks it for acknowledgement.</summary>
    public ProposeResult Propose(string data, SimNode? node = null)
    {
        node ??= Leader;
        if (node?.Raft is null) return new ProposeResult(ProposeStatus.NotLeader, 0, 0, 0);
        var result = node.Raft.Propose(Encoding.UTF8.GetBytes(data));
        if (result.IsAccepted)
        {
            _proposedAt[data] = result.FirstIndex;
            Trace.Add(Now, $"propose '{data}' at {node.Name} -> index {result.FirstIndex} term {result.Term}");
        }
        return result;
    }

    /// <summary>Proposes a configuration change on <paramref name="node"/> (the leader by default).</summary>
    public ProposeResult ProposeConfChange(ConfChange change, SimNode? node = null)
    {
        node ??= Leader;
        if (node?.Raft is null) return new ProposeResult(ProposeStatus.NotLeader, 0, 0, 0);
        var result = node.Raft.ProposeConfChange(change);
        Trace.Add(Now, $"propose configuration change '{change}' at {node.Name} -> {result.Status} index {result.FirstIndex} term {result.Term}");
        return result;
    }

    /// <summary>Issues a linearizable read at a node; checked when answered.</summary>
    public RequestStatus Read(SimNode node)
    {
        if (node.Raft is null) return RequestStatus.NoLeader;
        var id = node.ReadIds!.Next();
        var status = node.Raft.ReadIndex(id);
        if (status is RequestStatus.Accepted or RequestStatus.Forwarded)
        {
            // Linearizability: the read must see every write acknowledged before it started.
            var minIndex = Acknowledged.Count == 0 ? 0 : Acknowledged.Values.Max();
            _pendingReads[(node.Id, id)] = minIndex;
            Trace.Add(Now, $"read {id} at {node.Name} must see index {minIndex}");
        }
        return status;
    }

    /// <summary>Takes a snapshot of a node's state machine at its applied index and compacts its log.</summary>
    public void Compact(ulong id)
    {
        var node = Node(id);
        if (node.Raft is null || node.AppliedIndex <= node.Storage.FirstIndex - 1) return;
        node.Storage.CreateSnapshot(node.AppliedIndex, node.Raft.Membership, node.SnapshotStateMachine());
        Trace.Add(Now, $"{node.Name} compacted its log up to {node.AppliedIndex}");
    }

    private bool ProcessReady(SimNode node)
    {
        var raft = node.Raft;
        if (raft is null || !raft.HasReady) return false;
        var rd = raft.GetReady();
        CrashPoint? crash = _crashDuringNextReady.Remove(node.Id, out var point) ? point : null;
        // Like RaftHost: a leader's appends may leave before its own entries are durable (thesis section 10.2.1).
        var sendFirst = rd.MessagesMayPrecedePersist;
        if (sendFirst)
        {
            foreach (var m in rd.Messages) SendChecked(m);
        }
        if (crash == CrashPoint.BeforePersist)
        {
            Trace.Add(Now, $"crash {node.Name} before persisting a Ready ({rd.Entries.Count} entries lost, {(sendFirst ? "messages already sent" : $"{rd.Messages.Count} messages lost")})");
            Down(node);
            return true;
        }
        try
        {
            Persist(node, rd);
            if (crash == CrashPoint.AfterPersist)
            {
                Trace.Add(Now, $"crash {node.Name} after persisting a Ready ({rd.Messages.Count} messages not sent)");
                Down(node);
                return true;
            }
            if (!sendFirst)
            {
                foreach (var m in rd.Messages) SendChecked(m);
            }
            Apply(node, rd);
            foreach (var e in rd.Events) Trace.Add(Now, e.Text);
            raft.Advance();
            Checker.OnCommitIndex(node, raft.CommitIndex);
        }
        catch (SimulationFailure e)
        {
            Fail(e.Message);
        }
        catch (RaftInvariantException e)
        {
            Fail($"{node.Name} broke an invariant: {e.Message}");
        }
        return true;
    }

    private void SendChecked(Message m)
    {
        Checker.OnVoteSent(m);
        Network.Send(m, Now);
    }

    private void Persist(SimNode node, Ready rd)
    {
        if (rd.Snapshot is { } snapshot)
        {
            node.Storage.ApplySnapshot(snapshot);
            Checker.OnSnapshotPersisted(node, snapshot);
        }
        if (rd.Entries.Count > 0)
        {
            node.Storage.Append(rd.Entries);
            Checker.OnEntriesPersisted(node, rd.Entries);
        }
        if (rd.HardState is { } hard)
        {
            var before = node.Storage.HardState;
            Checker.OnHardStatePersisted(node, before, hard);
            node.Storage.SetHardState(hard);
            // A commit this leader made itself (it led at its previous Ready too) is checked against its configuration.
            if (node.Raft is { Role: RaftRole.Leader } raft && node.LedTerm == hard.Term && hard.Commit > before.Commit)
                Checker.OnLeaderCommitted(node, hard.Commit, raft.Membership, Nodes);
        }
        if (node.Raft is { Role: RaftRole.Leader } leader)
        {
            node.LedTerm = leader.Term;
            Checker.OnLeaderConfChanges(node, leader.Term);
        }
        else node.LedTerm = 0;
    }

    private void Apply(SimNode node, Ready rd)
    {
        if (rd.Snapshot is { } snapshot)
        {
            node.RestoreStateMachine(snapshot.Data);
            if (node.AppliedIndex != snapshot.Index) Fail($"{node.Name} restored a snapshot whose state is at {node.AppliedIndex}, not {snapshot.Index}");
        }
        foreach (var e in rd.CommittedEntries)
        {
            Checker.OnApplied(node, e);
            node.StateMachine?.Apply(e);
            node.AppliedIndex = e.Index;
            node.AppliedHash = Hash.Entry(node.AppliedHash, e);
            if (e.Type == EntryType.ConfChange)
            {
                // The application's part (RaftNode.ApplyConfChange): the change takes effect when applied.
                var conf = node.Raft!.ApplyConfChange(ConfChange.Decode(e.Data.Span));
                Checker.OnConfigurationApplied(node, e.Index, conf);
                continue;
            }
            if (e.Data.IsEmpty) continue;
            var data = Hash.Text(e.Data);
            node.Applied.Add(data);
            if (node.Raft?.Role == RaftRole.Leader && _proposedAt.TryGetValue(data, out var index) && index == e.Index)
            {
                Acknowledged[data] = index;
                _proposedAt.Remove(data);
            }
        }
        foreach (var rs in rd.ReadStates)
        {
            // An id this incarnation did not issue (or already answered) completes nothing.
            if (!_pendingReads.Remove((node.Id, rs.RequestId), out var minIndex)) continue;
            if (rs.Index < minIndex)
                Fail($"linearizability: read {rs.RequestId} on {node.Name} got index {rs.Index}, but index {minIndex} was acknowledged before it began");
            if (rs.Index > Checker.MaxCommitted) Fail($"read {rs.RequestId} got index {rs.Index} beyond every commit ({Checker.MaxCommitted})");
            ReadsAnswered++;
        }
    }

    private void CheckLeaders()
    {
        try
        {
            foreach (var node in Nodes)
            {
                if (node.Raft is not { Role: RaftRole.Leader } raft) continue;
                Checker.OnLeader(node, raft.Term, raft.Membership);
                Checker.OnLeaderLog(node, raft.Term);
            }
        }
        catch (SimulationFailure e)
        {
            Fail(e.Message);
        }
    }

    /// <summary>Throws a failure carrying the seed and the trace, so the run can be replayed.</summary>
    public void Fail(string message)
    {
        var state = string.Join('\n', Nodes.Select(n => "  " + n));
        foreach (var node in Nodes)
        {
            if (node.Raft is not { Role: RaftRole.Leader } leader) continue;
            var progress = leader.GetStatus().Progress.Select(p => $"{p.Id}: match={p.Match} next={p.Next} {p.State} inflight={p.Inflight} active={p.RecentActive}");
            state += $"\n  progress at leader {node}: {string.Join("; ", progress)}";
        }
        throw new SimulationFailure($"{message}\nseed: {Seed} (replay with RAFT_SIM_SEED={Seed})\nnodes:\n{state}\ntrace:\n{Trace}");
    }
}
