using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>Configuration changes (thesis chapter 4), learners, and the at-most-one-change rule (etcd's pendingConfIndex).</summary>
public sealed class MembershipTests
{
    private static Cluster Started(long seed, int voters = 3, int spares = 2)
    {
        var cluster = new Cluster(voters, seed, spares: spares);
        cluster.WaitForLeader();
        return cluster;
    }

    /// <summary>Proposes on the leader and runs until every member of the resulting configuration applied it.</summary>
    private static void Change(Cluster cluster, ConfChange change, int maxTicks = 100)
    {
        var leader = cluster.WaitForLeader();
        var result = cluster.ProposeConfChange(change, leader);
        Assert.Equal(ProposeStatus.Accepted, result.Status);
        cluster.MustRunUntil(() => cluster.Members.All(n => n.IsUp && n.AppliedIndex >= result.FirstIndex), maxTicks, $"'{change}' applied by every member");
    }

    private static void AssertEveryMemberHas(Cluster cluster, ConfState expected)
    {
        cluster.MustRunUntil(() => cluster.Members.All(n => n.Raft!.Membership.Equals(expected)), 100, $"every member at {expected}");
        Assert.Equal(expected, cluster.Membership);
    }

    [Fact]
    public void Section4_1_SimpleAdd_LearnerFirstThenPromotion_NewVoterCountsOnceApplied()
    {
        var cluster = Started(seed: 101);
        Change(cluster, ConfChange.Single(ConfChangeType.AddLearner, 4));
        AssertEveryMemberHas(cluster, new ConfState([1, 2, 3], [4], [], autoLeave: false));
        cluster.Propose("w1");
        cluster.MustRunUntil(() => cluster.Node(4).Applied.Contains("w1"), 50, "the learner receiving the log");

        Change(cluster, ConfChange.Single(ConfChangeType.PromoteLearner, 4));
        AssertEveryMemberHas(cluster, new ConfState([1, 2, 3, 4]));
        // Four voters: a quorum is three, so with two of them down nothing commits.
        var leader = cluster.WaitForLeader();
        var others = cluster.Nodes.Where(n => n.Id != leader.Id && n.Id <= 4).Take(2).ToArray();
        foreach (var n in others) cluster.Crash(n.Id);
        cluster.Propose("w2", leader);
        cluster.RunTicks(30);
        Assert.DoesNotContain("w2", leader.Applied);
        cluster.Restart(others[0].Id);
        cluster.MustRunUntil(() => cluster.Leader is { } l && l.Applied.Contains("w2") || cluster.Acknowledged.ContainsKey("w2"), 200, "commit with three of four");
    }

    [Fact]
    public void Section4_1_SimpleRemove_TheRestCommitWithoutIt()
    {
        var cluster = Started(seed: 102);
        var leader = cluster.WaitForLeader();
        var removed = cluster.Nodes.First(n => n.Id != leader.Id && n.Id <= 3);
        Change(cluster, ConfChange.Single(ConfChangeType.Remove, removed.Id));
        var rest = new ulong[] { 1, 2, 3 }.Where(id => id != removed.Id).ToArray();
        AssertEveryMemberHas(cluster, new ConfState(rest));
        Assert.DoesNotContain(leader.Raft!.GetStatus().Progress, p => p.Id == removed.Id);
        cluster.Crash(removed.Id);
        cluster.Propose("after");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("after"), 50, "commit by the two remaining voters");
    }

    [Fact]
    public void Section4_3_JointConsensus_EnteredAndLeftAutomatically()
    {
        var cluster = Started(seed: 103);
        Change(cluster, ConfChange.Single(ConfChangeType.AddLearner, 4));
        var leader = cluster.WaitForLeader();
        var victim = cluster.Nodes.First(n => n.Id != leader.Id && n.Id <= 3).Id;
        var joint = new ConfChange([new(ConfChangeType.PromoteLearner, 4), new(ConfChangeType.Remove, victim)]);
        Assert.True(joint.EntersJoint);
        var result = cluster.ProposeConfChange(joint, leader);
        Assert.True(result.IsAccepted);
        var final = new ConfState(new ulong[] { 1, 2, 3, 4 }.Where(id => id != victim));
        cluster.MustRunUntil(() => cluster.Members.All(n => n.Raft!.Membership.Equals(final)), 200, "the joint configuration entered and left");
        var history = cluster.Checker.Configurations.ToArray();
        Assert.Equal(new ConfState(final.Voters, [], [1, 2, 3], autoLeave: true), history[^2]);
        Assert.Equal(final, history[^1]);
    }

    [Fact]
    public void Section4_3_JointConsensus_LeftExplicitly_AndNeedsAMajorityOfBothHalves()
    {
        var cluster = Started(seed: 104, spares: 2);
        var leader = cluster.WaitForLeader();
        // {1,2,3} -> {leader,4,5}: the two other old voters are outgoing only.
        var outgoingOnly = new ulong[] { 1, 2, 3 }.Where(id => id != leader.Id).ToArray();
        var change = new ConfChange([new(ConfChangeType.AddVoter, 4), new(ConfChangeType.AddVoter, 5),
            new(ConfChangeType.Remove, outgoingOnly[0]), new(ConfChangeType.Remove, outgoingOnly[1])], ConfChangeTransition.JointExplicit);
        Change(cluster, change);
        var joint = new ConfState(new ulong[] { leader.Id, 4, 5 }, [], [1, 2, 3], autoLeave: false);
        AssertEveryMemberHas(cluster, joint);
        cluster.RunTicks(50);
        Assert.Equal(joint, leader.Raft!.Membership); // no auto-leave

        // The incoming half is all up, but without a majority of the outgoing half nothing commits.
        foreach (var id in outgoingOnly) cluster.Crash(id);
        cluster.Propose("joint write", leader);
        cluster.RunTicks(30);
        Assert.DoesNotContain("joint write", leader.Applied);
        cluster.Restart(outgoingOnly[0]);
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("joint write"), 100, "commit with both majorities");

        Change(cluster, ConfChange.LeaveJoint);
        AssertEveryMemberHas(cluster, new ConfState(new ulong[] { leader.Id, 4, 5 }));
    }

    [Fact]
    public void Learners_NeverCampaign()
    {
        var storage = new MemoryStorage();
        var learner = new RaftNode(new RaftConfig
        {
            Id = 4, AppliedConfState = new ConfState([1, 2, 3], [4], [], autoLeave: false), PreVote = false,
        }, storage, new Random(1));
        for (var i = 0; i < 1000; i++)
        {
            learner.Tick();
            if (!learner.HasReady) continue;
            var rd = learner.GetReady();
            Assert.DoesNotContain(rd.Messages, m => m.Type is MessageType.Vote or MessageType.PreVote);
            learner.Advance();
        }
        learner.Campaign();
        Assert.Equal(RaftRole.Follower, learner.Role);
        Assert.Equal(0UL, learner.Term);
    }

    [Fact]
    public void Learners_VotesAreNeverCounted_AndTheyGetNoVoteRequests()
    {
        var storage = new MemoryStorage();
        var node = new RaftNode(new RaftConfig
        {
            Id = 1, AppliedConfState = new ConfState([1, 2, 3], [4, 5], [], autoLeave: false), PreVote = false, CheckQuorum = false,
        }, storage, new Random(1));
        node.Campaign();
        var rd = node.GetReady();
        Assert.Equal(new ulong[] { 2, 3 }, rd.Messages.Where(m => m.Type == MessageType.Vote).Select(m => m.To).Order());
        storage.Save(rd.HardState, rd.Entries, rd.Snapshot, rd.MustSync);
        node.Advance();
        // Two learners granting do not make a majority of {1, 2, 3}.
        node.Step(new Message { Type = MessageType.VoteResponse, From = 4, To = 1, Term = node.Term });
        node.Step(new Message { Type = MessageType.VoteResponse, From = 5, To = 1, Term = node.Term });
        Assert.Equal(RaftRole.Candidate, node.Role);
        node.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = node.Term });
        Assert.Equal(RaftRole.Leader, node.Role);
    }

    [Fact]
    public void Section4_2_2_RemovedLeader_LeadsUntilTheChangeApplies_ThenStepsDown()
    {
        var cluster = Started(seed: 105);
        var leader = cluster.WaitForLeader();
        var result = cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.Remove, leader.Id), leader);
        Assert.True(result.IsAccepted);
        // It keeps leading (and replicating the change) until it applies the change.
        cluster.MustRunUntil(() => leader.AppliedIndex >= result.FirstIndex || leader.Raft!.Role != RaftRole.Leader, 50, "the removal applied");
        Assert.True(leader.AppliedIndex >= result.FirstIndex, "the leader stepped down before applying its removal");
        Assert.NotEqual(RaftRole.Leader, leader.Raft!.Role);
        Assert.False(leader.Raft.Membership.IsVoter(leader.Id));
        // It handed over: another voter leads and writes go on without the removed node.
        var next = cluster.WaitForLeader(100);
        Assert.NotEqual(leader.Id, next.Id);
        cluster.Crash(leader.Id);
        cluster.Propose("after removal");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("after removal"), 100, "commit without the removed leader");
    }

    [Fact]
    public void AtMostOneChangeInFlight_ASecondIsRefusedUntilTheFirstApplies()
    {
        var cluster = Started(seed: 106);
        var leader = cluster.WaitForLeader();
        var first = cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.AddLearner, 4), leader);
        Assert.True(first.IsAccepted);
        Assert.Equal(ProposeStatus.ConfChangePending, cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.AddLearner, 5), leader).Status);
        cluster.MustRunUntil(() => leader.AppliedIndex >= first.FirstIndex, 50, "the first change applied");
        Assert.True(cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.AddLearner, 5), leader).IsAccepted);
    }

    [Fact]
    public void Section4_1_ANewLeader_ChangesNothingBeforeAnEntryOfItsTermApplies()
    {
        var fixture = StepFixture.FreshLeader(); // its no-op is not committed yet
        Assert.Equal(ProposeStatus.ConfChangePending, fixture.Node.ProposeConfChange(ConfChange.Single(ConfChangeType.AddLearner, 4)).Status);
    }

    [Fact]
    public void InvalidChanges_AreRefusedWithTheReason()
    {
        var cluster = Started(seed: 107);
        var leader = cluster.WaitForLeader();
        var bad = new[]
        {
            ConfChange.Single(ConfChangeType.AddVoter, leader.Id),     // already a voter
            ConfChange.Single(ConfChangeType.PromoteLearner, 4),       // not a learner
            ConfChange.Single(ConfChangeType.Remove, 9),               // not a member
            ConfChange.LeaveJoint,                                     // not joint
        };
        foreach (var change in bad)
        {
            Assert.Equal(ProposeStatus.ConfChangeRefused, leader.Raft!.ProposeConfChange(change).Status);
            Assert.False(change.TryApply(leader.Raft.Membership, out _, out var why));
            Assert.NotEmpty(why);
        }
        Assert.False(ConfChange.Single(ConfChangeType.Remove, 1).TryApply(new ConfState([1]), out _, out var last));
        Assert.Contains("no voters", last);
    }

    [Fact]
    public void Promotion_LearnersMatchIndexShowsWhenItHasCaughtUp()
    {
        var cluster = Started(seed: 108);
        var leader = cluster.WaitForLeader();
        Assert.Null(leader.Raft!.MatchIndexOf(4)); // not a member: not tracked
        cluster.Crash(4); // the new learner is down: it cannot catch up
        var added = cluster.ProposeConfChange(ConfChange.Single(ConfChangeType.AddLearner, 4), leader);
        cluster.MustRunUntil(() => leader.AppliedIndex >= added.FirstIndex, 50, "the learner added");
        cluster.RunTicks(20);
        Assert.Equal(0UL, leader.Raft.MatchIndexOf(4)); // lagging: a server refuses to promote it
        Assert.True(leader.Raft.GetStatus().Progress.Single(p => p.Id == 4).IsLearner);
        cluster.Restart(4);
        cluster.MustRunUntil(() => leader.Raft.MatchIndexOf(4) == leader.Raft.LastIndex, 50, "the learner catching up");
        Change(cluster, ConfChange.Single(ConfChangeType.PromoteLearner, 4));
        AssertEveryMemberHas(cluster, new ConfState([1, 2, 3, 4]));
    }

    [Fact]
    public void ConfChange_EncodingRoundTrips_AndRejectsGarbage()
    {
        var change = new ConfChange([new(ConfChangeType.AddLearner, 7), new(ConfChangeType.Remove, ulong.MaxValue)], ConfChangeTransition.JointExplicit);
        Assert.Equal(change, ConfChange.Decode(change.Encode()));
        Assert.Equal(ConfChange.LeaveJoint, ConfChange.Decode(ConfChange.LeaveJoint.Encode()));
        Assert.Throws<FormatException>(() => ConfChange.Decode([1, 0, 1]));
        Assert.Throws<FormatException>(() => ConfChange.Decode([2, 0, 0, 0]));
        Assert.Throws<FormatException>(() => ConfChange.Decode([1, 0, 1, 0, 9, 1, 0, 0, 0, 0, 0, 0, 0]));
    }

    [Fact]
    public void ConfState_SurvivesSnapshotRestore_OnRestartAndOnANewLearner()
    {
        // Restart: a node built from storage whose snapshot holds a joint configuration with learners has it.
        var conf = new ConfState([1, 2, 4], [5], [1, 2, 3], autoLeave: true);
        var storage = new MemoryStorage();
        storage.ApplySnapshot(new Snapshot(new SnapshotMetadata(10, 2, conf), default));
        var restarted = new RaftNode(new RaftConfig { Id = 1, Voters = [1, 2, 3] }, storage, new Random(1));
        Assert.Equal(conf, restarted.Membership);

        // A learner added after the leader compacted its log learns the configuration from the snapshot.
        var cluster = Started(seed: 109);
        Change(cluster, ConfChange.Single(ConfChangeType.AddLearner, 4));
        var leader = cluster.WaitForLeader();
        for (var i = 0; i < 5; i++) cluster.Propose($"w{i}");
        cluster.MustRunUntil(() => leader.Applied.Count == 5, 50, "writes applied");
        cluster.Compact(leader.Id);
        Change(cluster, ConfChange.Single(ConfChangeType.AddLearner, 5));
        var expected = new ConfState([1, 2, 3], [4, 5], [], autoLeave: false);
        AssertEveryMemberHas(cluster, expected);
        Assert.True(cluster.Node(5).Storage.Snapshot is not null, "the new learner did not get a snapshot");
        cluster.Crash(5); // restarted, it reads the configuration back from its snapshot and replays the log after it
        cluster.Restart(5);
        var node5 = cluster.Node(5);
        Assert.Equal(node5.Storage.Snapshot!.Metadata.ConfState, node5.Raft!.Membership);
        cluster.MustRunUntil(() => node5.AppliedIndex == leader.AppliedIndex, 50, "the restarted learner replaying its log");
        Assert.Equal(expected, node5.Raft.Membership);
    }
}
