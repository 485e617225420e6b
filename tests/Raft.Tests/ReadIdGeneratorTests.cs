using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>Read-index ids unique across restarts, and the simulator's check that stale answers are caught (thesis section 6.4).</summary>
public sealed class ReadIdGeneratorTests
{
    [Fact]
    public void Next_CountsUpFromTheSeed()
    {
        var ids = new ReadIdGenerator(1000);
        Assert.Equal([1000UL, 1001UL, 1002UL], [ids.Next(), ids.Next(), ids.Next()]);
    }

    [Fact]
    public void Next_NeverReturnsZero_EvenWhenSeededWithItOrWrapping()
    {
        var fromZero = new ReadIdGenerator(0);
        Assert.Equal(1UL, fromZero.Next());
        var wrapping = new ReadIdGenerator(ulong.MaxValue);
        Assert.Equal([ulong.MaxValue, 1UL, 2UL], [wrapping.Next(), wrapping.Next(), wrapping.Next()]);
    }

    [Fact]
    public void Incarnations_WithRandomSeeds_DoNotShareIds()
    {
        var random = new Random(3);
        var seen = new HashSet<ulong>();
        for (var incarnation = 0; incarnation < 100; incarnation++)
        {
            var ids = new ReadIdGenerator(unchecked((ulong)random.NextInt64(long.MinValue, long.MaxValue)));
            for (var i = 0; i < 1000; i++) Assert.True(seen.Add(ids.Next()));
        }
    }

    [Fact]
    public void StaleAnswerToAPreviousIncarnation_IsALinearizabilityViolation_WhenIdsRestartAtOne()
    {
        // What a host numbering reads from 1 in every process does: the old answer completes the new read.
        var e = Assert.Throws<SimulationFailure>(() => RunStaleAnswerScenario(_ => new ReadIdGenerator(1)));
        Assert.Contains("linearizability: read 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StaleAnswerToAPreviousIncarnation_CompletesNothing_WithIdsSeededPerIncarnation()
    {
        var cluster = RunStaleAnswerScenario(readIds: null); // the default: a random seed per start
        Assert.Equal(1, cluster.ReadsAnswered); // the new read, answered by the leader; the first died with its process
    }

    /// <summary>
    /// A follower forwards a read; the leader's answer is delayed in the network; the follower crashes and
    /// restarts; a write is acknowledged; the new incarnation forwards a read, and only then the old answer, with an
    /// index from before that write, arrives.
    /// </summary>
    private static Cluster RunStaleAnswerScenario(Func<Random, ReadIdGenerator>? readIds)
    {
        var cluster = new Cluster(3, seed: 47, readIds: readIds);
        var leader = cluster.WaitForLeader();
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Raft!.Lead == leader.Id), 20, "followers knowing the leader");
        cluster.Propose("before");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("before"), 50, "first write acknowledged");
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);

        cluster.Network.Hold = m => m.Type == MessageType.ReadIndexResponse && m.To == follower.Id;
        Assert.Equal(RequestStatus.Forwarded, cluster.Read(follower));
        cluster.MustRunUntil(() => cluster.Network.HeldCount == 1, 20, "the leader answering the first read");
        cluster.Network.Hold = null;

        cluster.Crash(follower.Id);
        cluster.Restart(follower.Id);
        cluster.MustRunUntil(() => follower.Raft!.Lead == leader.Id, 20, "the restarted follower hearing from the leader");
        cluster.Propose("after");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("after"), 50, "second write acknowledged");

        Assert.Equal(RequestStatus.Forwarded, cluster.Read(follower));
        cluster.Network.ReleaseHeld(cluster.Now);
        cluster.Settle();
        cluster.MustRunUntil(() => cluster.ReadsAnswered == 1, 20, "the new read answered");
        return cluster;
    }
}
