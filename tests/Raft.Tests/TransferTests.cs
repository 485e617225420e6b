using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>Leadership transfer (thesis section 3.10).</summary>
public sealed class TransferTests
{
    [Fact]
    public void Transfer_ToAnUpToDateFollower_MakesItLeaderInTheNextTerm()
    {
        var cluster = new Cluster(3, seed: 51);
        var leader = cluster.WaitForLeader();
        cluster.Propose("before");
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Applied.Contains("before")), 50, "replicated");
        var target = cluster.Nodes.First(n => n.Id != leader.Id);
        var term = leader.Raft!.Term;
        Assert.Equal(RequestStatus.Accepted, leader.Raft.TransferLeadership(target.Id));
        Assert.Equal(ProposeStatus.TransferInProgress, leader.Raft.Propose("during"u8.ToArray()).Status);
        cluster.MustRunUntil(() => target.Raft!.Role == RaftRole.Leader, 20, "the target taking over");
        Assert.Equal(term + 1, target.Raft!.Term);
        cluster.MustRunUntil(() => leader.Raft!.Lead == target.Id, 20, "old leader following");
    }

    [Fact]
    public void Transfer_ToALaggingFollower_CatchesItUpFirst()
    {
        var cluster = new Cluster(3, seed: 52);
        var leader = cluster.WaitForLeader();
        var target = cluster.Nodes.First(n => n.Id != leader.Id);
        cluster.Isolate(target.Id);
        for (var i = 0; i < 5; i++) cluster.Propose($"t{i}");
        cluster.MustRunUntil(() => leader.Applied.Count == 5, 50, "commit without the target");
        cluster.Heal();
        leader.Raft!.TransferLeadership(target.Id);
        cluster.MustRunUntil(() => target.Raft!.Role == RaftRole.Leader, 30, "the target taking over after catching up");
        Assert.Equal(leader.Applied, target.Applied);
    }

    [Fact]
    public void Transfer_ToAnUnreachableNode_IsAbortedAfterAnElectionTimeout()
    {
        var cluster = new Cluster(3, seed: 53);
        var leader = cluster.WaitForLeader();
        var target = cluster.Nodes.First(n => n.Id != leader.Id);
        cluster.Crash(target.Id);
        leader.Raft!.TransferLeadership(target.Id);
        cluster.MustRunUntil(() => leader.Raft!.GetStatus().LeadTransferee == 0, 25, "the transfer being aborted");
        Assert.Equal(RaftRole.Leader, leader.Raft!.Role);
        Assert.True(leader.Raft.Propose("x"u8.ToArray()).IsAccepted);
    }

    [Fact]
    public void Transfer_RequestedOnAFollower_IsForwarded()
    {
        var cluster = new Cluster(3, seed: 54);
        var leader = cluster.WaitForLeader();
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Raft!.Lead == leader.Id), 20, "followers knowing the leader");
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);
        Assert.Equal(RequestStatus.Forwarded, follower.Raft!.TransferLeadership(follower.Id));
        cluster.MustRunUntil(() => follower.Raft!.Role == RaftRole.Leader, 30, "the follower taking over");
    }
}
