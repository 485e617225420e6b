using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>Linearizable reads with ReadIndex (thesis section 6.4).</summary>
public sealed class ReadIndexTests
{
    [Fact]
    public void ReadOnLeader_ReturnsACommitIndexCoveringEveryAcknowledgedWrite()
    {
        var cluster = new Cluster(3, seed: 41);
        var leader = cluster.WaitForLeader();
        for (var i = 0; i < 5; i++) cluster.Propose($"r{i}");
        cluster.MustRunUntil(() => cluster.Acknowledged.Count == 5, 50, "writes acknowledged");
        Assert.Equal(RequestStatus.Accepted, cluster.Read(leader));
        cluster.MustRunUntil(() => cluster.ReadsAnswered == 1, 10, "read answered");
    }

    [Fact]
    public void ReadOnFollower_IsForwardedToTheLeader()
    {
        var cluster = new Cluster(3, seed: 42);
        var leader = cluster.WaitForLeader();
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Raft!.Lead == leader.Id), 20, "followers knowing the leader");
        cluster.Propose("x");
        cluster.MustRunUntil(() => cluster.Acknowledged.Count == 1, 50, "write acknowledged");
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);
        Assert.Equal(RequestStatus.Forwarded, cluster.Read(follower));
        cluster.MustRunUntil(() => cluster.ReadsAnswered == 1, 10, "forwarded read answered");
    }

    [Fact]
    public void ReadOnIsolatedLeader_IsNeverAnswered()
    {
        // The heart of ReadIndex: a deposed leader that does not know it yet cannot confirm its leadership, so it
        // cannot serve a stale read.
        var cluster = new Cluster(3, seed: 43, c => c with { CheckQuorum = false });
        var leader = cluster.WaitForLeader();
        cluster.Isolate(leader.Id);
        Assert.Equal(RequestStatus.Accepted, cluster.Read(leader));
        cluster.RunTicks(50);
        Assert.Equal(0, cluster.ReadsAnswered);
    }

    [Fact]
    public void ReadOnNewLeader_WaitsForItsFirstCommit()
    {
        // Thesis section 6.4 step 1: a new leader's commit index may be stale until its no-op commits.
        var cluster = new Cluster(3, seed: 44, c => c with { ElectionTimeoutTicks = 1000 });
        var a = cluster.Node(1);
        // Block appends so the new leader's no-op cannot commit.
        cluster.Network.Filter = m => m.Type != MessageType.Append;
        a.Raft!.Campaign();
        cluster.MustRunUntil(() => a.Raft!.Role == RaftRole.Leader, 10, "A leading");
        Assert.Equal(RequestStatus.Accepted, cluster.Read(a));
        cluster.RunTicks(5);
        Assert.Equal(0, cluster.ReadsAnswered);
        cluster.Network.Filter = null;
        cluster.MustRunUntil(() => cluster.ReadsAnswered == 1, 20, "read answered after the no-op commits");
    }

    [Fact]
    public void ManyReads_ShareHeartbeatRounds()
    {
        var cluster = new Cluster(3, seed: 45);
        var leader = cluster.WaitForLeader();
        cluster.Tick();
        var heartbeats = 0;
        cluster.Network.Filter = m =>
        {
            if (m.Type == MessageType.Heartbeat && m.Context != 0) heartbeats++;
            return true;
        };
        for (var i = 0; i < 100; i++) cluster.Read(leader);
        cluster.Settle();
        Assert.Equal(100, cluster.ReadsAnswered);
        Assert.Equal(2, heartbeats); // one round to each of the two followers
    }

    [Fact]
    public void ReadWithNoLeader_IsRefused()
    {
        var cluster = new Cluster(3, seed: 46, c => c with { ElectionTimeoutTicks = 1000 });
        Assert.Equal(RequestStatus.NoLeader, cluster.Read(cluster.Node(1)));
    }
}
