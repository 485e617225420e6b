using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>Crash recovery from persisted state (paper figure 2, "persistent state on all servers").</summary>
public sealed class PersistenceTests
{
    [Fact]
    public void PersistenceAcrossRestartsOfAllNodes_CommittedEntriesAndTermsSurvive()
    {
        var cluster = new Cluster(3, seed: 31);
        var leader = cluster.WaitForLeader();
        for (var i = 0; i < 10; i++) cluster.Propose($"p{i}");
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Applied.Count == 10), 50, "first batch applied");
        var terms = cluster.Nodes.ToDictionary(n => n.Id, n => n.Raft!.Term);

        foreach (var n in cluster.Nodes) cluster.Crash(n.Id);
        foreach (var n in cluster.Nodes) cluster.Restart(n.Id);
        // Terms come back from the hard state, never lower.
        Assert.All(cluster.Nodes, n => Assert.True(n.Raft!.Term >= terms[n.Id]));
        var again = cluster.WaitForLeader();
        Assert.True(again.Raft!.Term > terms[leader.Id]);
        cluster.Propose("after-restart");
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Applied.Contains("after-restart")), 100, "write after restart");
        // The state machines were rebuilt by re-applying the persisted log.
        Assert.All(cluster.Nodes, n => Assert.Equal(Enumerable.Range(0, 10).Select(i => $"p{i}").Append("after-restart"), n.Applied));
    }

    [Fact]
    public void Crash_BeforePersistingAVote_TheVoteIsNotCounted()
    {
        // A vote is a promise: it is sent only after it is persisted. A node that crashes before persisting its
        // Ready sends nothing, and after restart it may vote again in that term without breaking election safety.
        var cluster = new Cluster(3, seed: 32, c => c with { ElectionTimeoutTicks = 1000, PreVote = false });
        var a = cluster.Node(1);
        cluster.CrashDuringNextReady(2, CrashPoint.BeforePersist);
        cluster.CrashDuringNextReady(3, CrashPoint.BeforePersist);
        a.Raft!.Campaign();
        cluster.Settle();
        Assert.Equal(RaftRole.Candidate, a.Raft!.Role);
        Assert.False(cluster.Node(2).IsUp);
        Assert.Equal(0UL, cluster.Node(2).Storage.HardState.Vote);
        Assert.Equal(0UL, cluster.Node(3).Storage.HardState.Vote);
        cluster.Restart(2);
        cluster.Restart(3);
        cluster.MustRunUntil(() =>
        {
            if (a.Raft!.Role != RaftRole.Leader) a.Raft.Campaign();
            return a.Raft.Role == RaftRole.Leader;
        }, 50, "A winning after the voters restart");
    }

    [Fact]
    public void Crash_AfterPersistingBeforeSending_NodeRecoversWithItsPromises()
    {
        var cluster = new Cluster(3, seed: 33);
        var leader = cluster.WaitForLeader();
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);
        cluster.CrashDuringNextReady(follower.Id, CrashPoint.AfterPersist);
        cluster.Propose("w");
        cluster.MustRunUntil(() => !follower.IsUp, 10, "the follower crashing mid-Ready");
        cluster.Restart(follower.Id);
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Applied.Contains("w")), 100, "recovery");
    }
}
