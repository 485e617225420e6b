namespace RaftKv.Raft.Tests;

/// <summary>
/// A single <see cref="RaftNode"/> driven by hand, with its storage kept in step (every Ready is persisted before
/// <see cref="RaftNode.Advance"/>), for tests that feed it messages one by one.
/// </summary>
internal sealed class StepFixture
{
    private StepFixture(RaftNode node, MemoryStorage storage)
    {
        Node = node;
        Storage = storage;
    }

    public RaftNode Node { get; }

    public MemoryStorage Storage { get; }

    /// <summary>
    /// Node 1 of {1, 2, 3}, a follower at term 2 that voted for 2, with entries 1/1, 2/1, 3/2 (term/index) and
    /// commit 2 applied. It knows no leader yet, so a higher-term vote request is not held off by a lease.
    /// </summary>
    public static StepFixture Follower()
    {
        var storage = new MemoryStorage();
        storage.Append([E(1, 1), E(2, 1), E(3, 2)]);
        storage.SetHardState(new HardState(2, 2, 2));
        var fixture = new StepFixture(new RaftNode(Config(), storage, new Random(1)), storage);
        fixture.Drain();
        return fixture;
    }

    /// <summary>
    /// Node 1 of {1, 2, 3}, leader at term 1 with its no-op at index 1 persisted but not yet replicated, so
    /// nothing is committed.
    /// </summary>
    public static StepFixture FreshLeader()
    {
        var storage = new MemoryStorage();
        return new StepFixture(new RaftNode(Config(), storage, new Random(1)), storage).BecomeLeader();
    }

    /// <summary>
    /// Like <see cref="FreshLeader"/>, but node 2 acknowledged the no-op (commit 1), and one read (request id 77)
    /// waits for its heartbeat round, whose heartbeats (context 1) have been sent.
    /// </summary>
    public static StepFixture LeaderWithPendingRead()
    {
        var fixture = FreshLeader();
        var node = fixture.Node;
        node.Step(new Message { Type = MessageType.AppendResponse, From = 2, To = 1, Term = node.Term, Index = 1 });
        fixture.Drain();
        Assert.Equal(1UL, node.CommitIndex);
        Assert.Equal(RequestStatus.Accepted, node.ReadIndex(77));
        fixture.Drain();
        return fixture;
    }

    public static Entry E(ulong index, ulong term) => new(index, term, EntryType.Normal, default);

    /// <summary>What must not change when a message is refused: durable state, role, log shape and (for a leader) progress.</summary>
    public NodeState State()
    {
        var s = Node.GetStatus();
        var progress = string.Join("; ", s.Progress);
        return new NodeState(s.Term, s.Vote, s.Leader, s.Role, s.Commit, s.Applied, s.FirstIndex, s.LastIndex, s.LastTerm, progress);
    }

    /// <summary>Persists and acknowledges every pending Ready, like a host; returns the messages it sent.</summary>
    public List<Message> Drain()
    {
        var sent = new List<Message>();
        while (Node.HasReady)
        {
            var rd = Node.GetReady();
            Storage.Save(rd.HardState, rd.Entries, rd.Snapshot, rd.MustSync);
            sent.AddRange(rd.Messages);
            Node.Advance();
        }
        return sent;
    }

    private StepFixture BecomeLeader()
    {
        Node.Campaign();
        Drain();
        Node.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = Node.Term });
        Drain();
        Assert.Equal(RaftRole.Leader, Node.Role);
        Assert.Equal(0UL, Node.CommitIndex);
        return this;
    }

    private static RaftConfig Config() => new() { Id = 1, Voters = [1, 2, 3], PreVote = false, CheckQuorum = false };
}

/// <summary>A comparable snapshot of a node's observable state.</summary>
internal readonly record struct NodeState(
    ulong Term, ulong Vote, ulong Lead, RaftRole Role, ulong Commit, ulong Applied, ulong FirstIndex, ulong LastIndex, ulong LastTerm,
    string Progress);
