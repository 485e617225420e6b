using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>
/// A cluster started with its configuration in the log (<see cref="RaftBootstrap"/>, as etcd does), and a member added
/// later with an empty log that learns every configuration from the leader (thesis section 4.2.1: added as a learner,
/// caught up, then promoted).
/// </summary>
public sealed class BootstrapTests
{
    private static readonly (ulong, ReadOnlyMemory<byte>)[] Three = [(1, "a"u8.ToArray()), (2, "b"u8.ToArray()), (3, default)];

    [Fact]
    public void InitialEntries_AreCommittedAddVoters_OfTerm1_InOrder()
    {
        var entries = RaftBootstrap.InitialEntries(Three);
        Assert.Equal(new ulong[] { 1, 2, 3 }, entries.Select(e => e.Index));
        Assert.All(entries, e => Assert.Equal((1UL, EntryType.ConfChange), (e.Term, e.Type)));
        Assert.Equal(ConfChange.Single(ConfChangeType.AddVoter, 2, "b"u8.ToArray()), ConfChange.Decode(entries[1].Data.Span));
        Assert.Equal(new HardState(1, RaftNode.None, 3), RaftBootstrap.InitialHardState(3));
        // Identical on every member: the same bytes at the same index and term (log matching).
        Assert.Equal(entries.Select(e => e.Data.ToArray()), RaftBootstrap.InitialEntries(Three).Select(e => e.Data.ToArray()));
        Assert.Throws<ArgumentException>(() => RaftBootstrap.InitialEntries([]));
        Assert.Throws<ArgumentException>(() => RaftBootstrap.InitialEntries([(1, default), (1, default)]));
        Assert.Throws<ArgumentException>(() => RaftBootstrap.InitialEntries([(0, default)]));
        Assert.Throws<ArgumentException>(() => RaftBootstrap.InitialEntries([(1, new byte[ConfChange.MaxContextBytes + 1])]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RaftBootstrap.InitialHardState(0));
    }

    [Fact]
    public void ABootstrappedNode_StartsEmpty_AppliesTheEntriesFirst_OnlyThenCampaigns()
    {
        var storage = Bootstrapped();
        var node = new RaftNode(new RaftConfig { Id = 1, PreVote = false }, storage, new Random(1));
        Assert.Equal(ConfState.Empty, node.Membership);
        node.Campaign(); // not a voter of its (empty) configuration: nothing happens
        Assert.Equal((RaftRole.Follower, 1UL), (node.Role, node.Term));

        var rd = node.GetReady();
        Assert.Equal(new ulong[] { 1, 2, 3 }, rd.CommittedEntries.Select(e => e.Index));
        Assert.Empty(rd.Messages);
        foreach (var e in rd.CommittedEntries) node.ApplyConfChange(ConfChange.Decode(e.Data.Span));
        node.Advance();
        Assert.Equal(new ConfState([1, 2, 3]), node.Membership);
        node.Campaign();
        Assert.Equal((RaftRole.Candidate, 2UL), (node.Role, node.Term));
    }

    [Fact]
    public void ANodeWithAnEmptyConfiguration_NeverCampaigns()
    {
        var node = new RaftNode(new RaftConfig { Id = 4, PreVote = false }, new MemoryStorage(), new Random(1));
        Assert.Equal(ConfState.Empty, node.Membership);
        for (var i = 0; i < 1000; i++)
        {
            node.Tick();
            if (!node.HasReady) continue;
            Assert.Empty(node.GetReady().Messages);
            node.Advance();
        }
        Assert.Equal((RaftRole.Follower, 0UL), (node.Role, node.Term));
    }

    [Fact]
    public void ARestartedMember_WithTheEntriesInASnapshot_HasTheConfiguration()
    {
        var storage = Bootstrapped();
        storage.CreateSnapshot(3, new ConfState([1, 2, 3]), default);
        var node = new RaftNode(new RaftConfig { Id = 2, AppliedIndex = 3 }, storage, new Random(1));
        Assert.Equal(new ConfState([1, 2, 3]), node.Membership);
        Assert.Equal(3UL, node.AppliedIndex);
        Assert.False(node.HasReady && node.GetReady().CommittedEntries.Count > 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Section4_2_1_ThreeBootstrapped_ElectAndCommit_AFourthWithAnEmptyLogJoins_AndCountsInQuorums(bool compacted)
    {
        var cluster = new Cluster(3, seed: compacted ? 302 : 301, spares: 1, bootstrap: true);
        var leader = cluster.WaitForLeader();
        Assert.Equal(new ConfState([1, 2, 3]), leader.Raft!.Membership);
        Assert.True(leader.Raft.Term >= 2, "a leader at term 1 could overwrite the bootstrap entries");
        for (var i = 0; i < 5; i++) cluster.Propose($"w{i}");
        cluster.MustRunUntil(() => cluster.Acknowledged.Count == 5, 50, "writes by the bootstrapped voters");
        var newcomer = cluster.Node(4);
        Assert.Equal(ConfState.Empty, newcomer.Raft!.Membership);
        Assert.Equal(0UL, newcomer.Raft.LastIndex);
        if (compacted)
        {
            // The bootstrap entries are gone from the leader's log: the newcomer gets them as a snapshot.
            foreach (var n in cluster.Nodes.Take(3)) cluster.Compact(n.Id);
            Assert.True(leader.Storage.FirstIndex > 3);
        }

        var context = Cluster.BootstrapContext(4);
        Change(cluster, ConfChange.Single(ConfChangeType.AddLearner, 4, context));
        cluster.MustRunUntil(() => leader.Raft.MatchIndexOf(4) == leader.Raft.LastIndex, 100, "the learner catching up");
        Assert.Equal(new ConfState([1, 2, 3], [4], [], autoLeave: false), newcomer.Raft.Membership);
        if (compacted) Assert.NotNull(newcomer.Storage.Snapshot);
        else
        {
            // It learned the whole history from the log, contexts included.
            Assert.Null(newcomer.Storage.Snapshot);
            var entries = new List<Entry>();
            newcomer.Storage.GetEntries(1, 4, long.MaxValue, entries);
            Assert.Equal(new ulong[] { 1, 2, 3 }.Select(id => ConfChange.Single(ConfChangeType.AddVoter, id, Cluster.BootstrapContext(id))),
                entries.Select(e => ConfChange.Decode(e.Data.Span)));
        }
        Change(cluster, ConfChange.Single(ConfChangeType.PromoteLearner, 4, context));
        var four = new ConfState([1, 2, 3, 4]);
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Raft!.Membership.Equals(four)), 100, "every node at four voters");
        Assert.Equal(new[] { "w0", "w1", "w2", "w3", "w4" }, newcomer.Applied);

        // Four voters, quorum three: with one old voter down, a write commits only with the newcomer's vote...
        leader = cluster.WaitForLeader();
        var down = cluster.Nodes.First(n => n.Id != leader.Id && n.Id != 4).Id;
        cluster.Crash(down);
        cluster.Propose("with the newcomer", leader);
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("with the newcomer"), 100, "a commit that needs the newcomer");
        // ...and without it too, nothing commits.
        cluster.Crash(4);
        cluster.Propose("without the newcomer", leader);
        cluster.RunTicks(30);
        Assert.DoesNotContain("without the newcomer", leader.Applied);

        // Restarted, the newcomer replays its log (or snapshot) into the same configuration.
        cluster.Restart(4);
        cluster.Restart(down);
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.IsUp && n.AppliedIndex == cluster.Leader?.AppliedIndex), 200, "every node caught up");
        Assert.All(cluster.Nodes, n => Assert.Equal(four, n.Raft!.Membership));
    }

    private static void Change(Cluster cluster, ConfChange change)
    {
        var leader = cluster.WaitForLeader();
        var result = cluster.ProposeConfChange(change, leader);
        Assert.Equal(ProposeStatus.Accepted, result.Status);
        cluster.MustRunUntil(() => cluster.Members.All(n => n.IsUp && n.AppliedIndex >= result.FirstIndex), 100, $"'{change}' applied by every member");
    }

    private static MemoryStorage Bootstrapped()
    {
        var storage = new MemoryStorage();
        var entries = RaftBootstrap.InitialEntries(Three);
        storage.Append(entries);
        storage.SetHardState(RaftBootstrap.InitialHardState(entries.Count));
        return storage;
    }
}
