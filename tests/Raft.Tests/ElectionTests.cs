using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>Leader election, paper section 5.2, with PreVote and CheckQuorum (thesis sections 9.6 and 6.2).</summary>
public sealed class ElectionTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    public void InitialElection_ElectsExactlyOneLeaderThatEveryoneFollows(int nodes)
    {
        // Section 5.2: servers start as followers; one times out, wins a majority and becomes leader.
        var cluster = new Cluster(nodes, seed: 1);
        var leader = cluster.WaitForLeader();
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Raft!.Lead == leader.Id), 100, "everyone following the leader");
        Assert.Single(cluster.Nodes, n => n.Raft!.Role == RaftRole.Leader);
        Assert.All(cluster.Nodes, n => Assert.Equal(leader.Raft!.Term, n.Raft!.Term));
        // The same leader stays: heartbeats keep followers from timing out.
        var term = leader.Raft!.Term;
        cluster.RunTicks(200);
        Assert.Equal(RaftRole.Leader, leader.Raft.Role);
        Assert.Equal(term, leader.Raft.Term);
    }

    [Fact]
    public void InitialElectionTickAdvance_ABootingClusterElectsWithinOneTimeout()
    {
        // Section 5.2's randomized timeout still spreads the candidates; the advance only starts the clock nearly
        // expired, so a cluster restarted as a whole elects about one timeout sooner.
        const int Timeout = 10;
        var waiting = new Cluster(3, seed: 3, c => c with { ElectionTimeoutTicks = Timeout });
        waiting.RunTicks(Timeout - 1);
        Assert.All(waiting.Nodes, n => Assert.Equal(RaftRole.Follower, n.Raft!.Role));

        var advanced = new Cluster(3, seed: 3, c => c with { ElectionTimeoutTicks = Timeout, InitialElectionTickAdvance = Timeout - 1 });
        advanced.MustRunUntil(() => advanced.Leader is not null, Timeout, "a leader within one election timeout of booting");
    }

    [Fact]
    public void InitialElectionTickAdvance_NeedsPreVoteAndStaysBelowTheTimeout()
    {
        Assert.Throws<ArgumentException>(() => new RaftConfig { Id = 1, Voters = [1, 2, 3], PreVote = false, InitialElectionTickAdvance = 5 }.Validate());
        Assert.Throws<ArgumentException>(() => new RaftConfig { Id = 1, Voters = [1, 2, 3], ElectionTimeoutTicks = 10, InitialElectionTickAdvance = 10 }.Validate());
        new RaftConfig { Id = 1, Voters = [1, 2, 3], ElectionTimeoutTicks = 10, InitialElectionTickAdvance = 9 }.Validate();
    }

    [Fact]
    public void AdvanceElectionTimer_LeaderlessFollowersElectBeforeAnyTimeoutCouldExpire()
    {
        // Section 5.2: no timer expires before ElectionTimeoutTicks, so without the advance no member even campaigns
        // by then. Advanced after 2 ticks, each timer keeps its own randomized timeout, and (with this seed) a leader
        // is elected before that first possible expiry.
        const int Timeout = 10;
        var waiting = new Cluster(3, seed: 5, c => c with { ElectionTimeoutTicks = Timeout });
        waiting.RunTicks(Timeout - 1);
        Assert.All(waiting.Nodes, n => Assert.Equal(RaftRole.Follower, n.Raft!.Role));

        var advanced = new Cluster(3, seed: 5, c => c with { ElectionTimeoutTicks = Timeout });
        advanced.RunTicks(2);
        foreach (var n in advanced.Nodes) n.Raft!.AdvanceElectionTimer(Timeout - 1);
        advanced.MustRunUntil(() => advanced.Leader is not null, Timeout - 3, "a leader before any unadvanced timer could expire");
        Assert.Equal(1, advanced.Nodes.Count(n => n.Raft!.Role == RaftRole.Leader));
    }

    [Fact]
    public void AdvanceElectionTimer_NeedsPreVoteAndStaysBelowTheTimeout()
    {
        var storage = new MemoryStorage();
        var node = new RaftNode(new RaftConfig { Id = 1, Voters = [1, 2, 3], ElectionTimeoutTicks = 10 }, storage, new Random(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => node.AdvanceElectionTimer(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => node.AdvanceElectionTimer(-1));
        node.AdvanceElectionTimer(9);
        var noPreVote = new RaftNode(new RaftConfig { Id = 1, Voters = [1, 2, 3], PreVote = false }, new MemoryStorage(), new Random(1));
        Assert.Throws<InvalidOperationException>(() => noPreVote.AdvanceElectionTimer(1));
    }

    [Fact]
    public void InitialElection_LogsReadableLines()
    {
        var cluster = new Cluster(3, seed: 7);
        var leader = cluster.WaitForLeader();
        var lines = cluster.Trace.Lines;
        var term = leader.Raft!.Term;
        Assert.Contains(lines, l => l.EndsWith($"{leader.Name} became candidate at term {term}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{leader.Name} received vote from ", StringComparison.Ordinal) && l.EndsWith($"at term {term}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{leader.Name} became leader at term {term} (votes: ", StringComparison.Ordinal));
    }

    [Fact]
    public void ReElection_AfterLeaderFailure_NewLeaderInHigherTerm_OldLeaderRejoinsAsFollower()
    {
        // Section 5.2: when followers stop hearing heartbeats they elect a new leader.
        var cluster = new Cluster(3, seed: 2);
        var first = cluster.WaitForLeader();
        var firstTerm = first.Raft!.Term;
        cluster.Crash(first.Id);
        var second = cluster.WaitForLeader();
        Assert.NotEqual(first.Id, second.Id);
        Assert.True(second.Raft!.Term > firstTerm);

        cluster.Restart(first.Id);
        cluster.MustRunUntil(() => first.Raft!.Lead == second.Id, 200, "the old leader following the new one");
        Assert.Equal(RaftRole.Follower, first.Raft!.Role);
        Assert.Equal(second.Id, cluster.Leader!.Id);
    }

    [Fact]
    public void NoElection_WhenAMajorityIsDown()
    {
        // Section 5.2: a candidate needs votes from a majority of the full cluster.
        var cluster = new Cluster(5, seed: 3);
        var leader = cluster.WaitForLeader();
        var others = cluster.Nodes.Where(n => n.Id != leader.Id).Take(3).ToArray();
        foreach (var n in others) cluster.Crash(n.Id);
        // The leader loses its quorum (CheckQuorum) and nobody can win.
        cluster.RunTicks(300);
        Assert.DoesNotContain(cluster.Nodes, n => n.Raft?.Role == RaftRole.Leader);

        cluster.Restart(others[0].Id);
        var again = cluster.WaitForLeader();
        Assert.True(again.IsUp);
    }

    [Fact]
    public void ManyElections_UnderChurn_AlwaysRecoverALeader()
    {
        // Section 5.2: repeated failures of random nodes, one at a time, with a majority always up.
        var cluster = new Cluster(5, seed: 4);
        var random = new Random(4);
        var elections = 0;
        for (var round = 0; round < 30; round++)
        {
            var leader = cluster.WaitForLeader();
            var victim = random.Next(3) == 0 ? leader : cluster.Nodes[random.Next(5)];
            cluster.Crash(victim.Id);
            cluster.RunTicks(random.Next(5, 40));
            cluster.Restart(victim.Id);
            if (victim == leader) elections++;
        }
        cluster.WaitForLeader();
        Assert.True(elections > 3, $"the churn should have killed the leader several times, did {elections}");
    }

    [Fact]
    public void PreVote_PartitionedNodeDoesNotRaiseTheTermOfTheHealthyMajority()
    {
        // Thesis section 9.6: a node cut off from the cluster times out again and again, but its pre-votes fail,
        // so its term stays; when it comes back the leader keeps leading in the same term.
        var cluster = new Cluster(3, seed: 5);
        var leader = cluster.WaitForLeader();
        var term = leader.Raft!.Term;
        var loner = cluster.Nodes.First(n => n.Id != leader.Id);
        cluster.Isolate(loner.Id);
        cluster.RunTicks(200); // 20 election timeouts
        Assert.Equal(term, loner.Raft!.Term);
        Assert.Contains(cluster.Trace.Lines, l => l.Contains($"{loner.Name} became pre-candidate", StringComparison.Ordinal));

        cluster.Heal();
        cluster.RunTicks(100);
        Assert.Equal(leader.Id, cluster.Leader!.Id);
        Assert.Equal(term, leader.Raft.Term);
        Assert.Equal(leader.Id, loner.Raft.Lead);
    }

    [Fact]
    public void PreVote_IgnoredByAPeerStillInItsLease_IsRetriedBeforeTheNextTimeout()
    {
        // Thesis sections 6.2 and 9.6: a follower that heard from the leader less than an election timeout ago
        // ignores (pre-)votes. When the leader dies, the first follower to time out may ask a peer whose clock is
        // a tick behind; the retry gets the vote a few ticks later instead of a whole timeout later.
        var cluster = new Cluster(3, seed: 10, c => c with { ElectionTimeoutTicks = 10 });
        var leader = cluster.WaitForLeader();
        var term = leader.Raft!.Term;
        cluster.Crash(leader.Id);
        var a = cluster.Nodes.First(n => n.IsUp);
        var b = cluster.Nodes.Last(n => n.IsUp);
        // Make b's clock lag: it has just heard from the (now dead) leader, a has not for a while.
        for (var i = 0; i < 9; i++) a.Raft!.Tick();
        a.Raft!.Campaign(); // a's timeout fires while b is still in its lease
        cluster.Settle();
        Assert.Contains(cluster.Trace.Lines, l => l.Contains($"{b.Name} ignored pre-vote request from {a.Name}", StringComparison.Ordinal));
        Assert.Equal(RaftRole.PreCandidate, a.Raft.Role);
        cluster.MustRunUntil(() => cluster.Leader is { } l && l.Raft!.Term > term, 12, "an election within about one timeout");
        Assert.Equal(a.Id, cluster.Leader!.Id);
    }

    [Fact]
    public void WithoutPreVote_PartitionedNodeRaisesItsTerm_ButCheckQuorumLeaseKeepsTheLeader()
    {
        // Contrast with the PreVote test: without it the loner's term climbs. With CheckQuorum the healthy nodes
        // ignore its vote requests while they hear from their leader (leader lease), so the cluster keeps working
        // until the leader learns the higher term from the loner's responses; then a new election follows.
        var cluster = new Cluster(3, seed: 6, c => c with { PreVote = false });
        var leader = cluster.WaitForLeader();
        var term = leader.Raft!.Term;
        var loner = cluster.Nodes.First(n => n.Id != leader.Id);
        cluster.Isolate(loner.Id);
        cluster.RunTicks(200);
        Assert.True(loner.Raft!.Term > term + 3, $"term should climb without pre-vote, is {loner.Raft.Term}");
        var lonerTerm = loner.Raft.Term;
        cluster.Heal();
        // The disruption the pre-vote test rules out: the old leader learns the higher term and steps down.
        cluster.MustRunUntil(() => cluster.Leader is { } l && l.Raft!.Term >= lonerTerm && cluster.Nodes.All(n => n.Raft!.Lead == l.Id),
            300, "a leader at the loner's raised term");
        Assert.True(cluster.Leader!.Raft!.Term > term);
    }

    [Fact]
    public void CheckQuorum_IsolatedLeaderStepsDown()
    {
        // Thesis section 6.2: a leader that cannot reach a majority for an election timeout steps down, so
        // clients are not left talking to a leader that can no longer commit.
        var cluster = new Cluster(3, seed: 8);
        var leader = cluster.WaitForLeader();
        cluster.Isolate(leader.Id);
        cluster.MustRunUntil(() => leader.Raft!.Role != RaftRole.Leader, 50, "the isolated leader stepping down");
        Assert.Contains(cluster.Trace.Lines, l => l.Contains($"{leader.Name} stepped down: lost contact with a quorum", StringComparison.Ordinal));
        var other = cluster.WaitForLeader();
        Assert.NotEqual(leader.Id, other.Id);
    }

    [Fact]
    public void SingleNodeCluster_ElectsItselfAndCommits()
    {
        var cluster = new Cluster(1, seed: 9);
        var leader = cluster.WaitForLeader();
        Assert.True(cluster.Propose("x").IsAccepted);
        cluster.MustRunUntil(() => leader.Applied.Contains("x"), 10, "single-node commit");
    }
}
