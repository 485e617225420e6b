using System.Collections.Concurrent;
using RaftKv.Raft.Hosting.InMemory;
using RaftKv.Samples.ReplicatedCounter;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// The typed host's status, leadership events and membership calls (issue 17): three voters and a fourth member with
/// an empty log that joins as a learner, is promoted (thesis section 4.2.1), and a voter is then removed.
/// </summary>
public sealed class TypedHostMembershipTests : IAsyncLifetime
{
    private static readonly ulong[] Initial = [1, 2, 3];
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly InMemoryNetwork _network = new();
    private readonly Dictionary<ulong, (TypedRaftHost<long, long> Host, Counter Counter)> _nodes = [];
    private readonly ConcurrentQueue<SoftState> _leaderChanges = new();

    private TypedRaftHost<long, long> StartNode(ulong id, IReadOnlyList<ulong> voters)
    {
        var counter = new Counter();
        var host = new TypedRaftHost<long, long>(new RaftHostOptions
        {
            Raft = new RaftConfig { Id = id, Voters = voters, ElectionTimeoutTicks = 10 },
            TickInterval = TimeSpan.FromMilliseconds(10),
        }, new MemoryStorage(), counter, Int64Codec.Instance, _network.TransportFor(id));
        if (id == 1) host.LeaderChanged += _leaderChanges.Enqueue;
        _nodes[id] = (host, counter);
        host.Start();
        return host;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (host, _) in _nodes.Values) await host.DisposeAsync();
    }

    private async Task<TypedRaftHost<long, long>> LeaderAsync()
    {
        var leader = await HostWaits.SingleLeaderAsync(_nodes.Values.Select(n => n.Host.Host), Bound);
        return _nodes[leader.Id].Host;
    }

    [Fact]
    public async Task Status_NamesTheLeaderTermAndIndexes_AndLeaderChangedReportsTheElection()
    {
        foreach (var id in Initial) StartNode(id, Initial);
        var leader = await LeaderAsync();
        Assert.Equal(11, await leader.ProposeAsync(11).AsTask().WaitAsync(Bound));

        Assert.True(leader.IsLeader);
        Assert.Equal(RaftRole.Leader, leader.Role);
        Assert.Equal(leader.Id, leader.LeaderId);
        Assert.True(leader.Term >= 1);
        // The write's entry is committed and applied on the leader once ProposeAsync returned.
        await HostWaits.UntilAsync(() => leader.AppliedIndex >= 2 && leader.CommitIndex >= leader.AppliedIndex, Bound, "the leader's indexes to cover the write");
        var follower = _nodes.Values.First(n => n.Host != leader).Host;
        await HostWaits.UntilAsync(() => follower.LeaderId == leader.Id && follower.Term == leader.Term, Bound, "a follower to know the leader");
        Assert.False(follower.IsLeader);
        // Node 1 saw a leader named at least once through the event.
        await HostWaits.UntilAsync(() => _leaderChanges.Any(s => s.Leader == leader.Id), Bound, "node 1's LeaderChanged to name the leader");
    }

    [Fact]
    public async Task Section4_2_1_AddLearner_Promote_Remove_EachCompletesWithTheNewConfiguration()
    {
        foreach (var id in Initial) StartNode(id, Initial);
        StartNode(4, []); // an empty log: it learns everything from the leader
        var leader = await LeaderAsync();
        var seen = new ConcurrentQueue<ConfState>();
        leader.ConfigurationChanged += seen.Enqueue;
        Assert.Equal(5, await leader.ProposeAsync(5).AsTask().WaitAsync(Bound));

        var afterAdd = await leader.AddLearnerAsync(4).AsTask().WaitAsync(Bound);
        Assert.Equal([4UL], afterAdd.Learners);
        Assert.Equal(Initial, afterAdd.Voters);
        // The learner catches up: it applies the write made before it joined.
        await HostWaits.UntilAsync(() => _nodes[4].Counter.Value == 5, Bound, "the learner to apply the earlier write");

        var afterPromote = await leader.PromoteLearnerAsync(4).AsTask().WaitAsync(Bound);
        Assert.Equal([1UL, 2, 3, 4], afterPromote.Voters);
        Assert.Empty(afterPromote.Learners);

        var removed = Initial.First(id => id != leader.Id);
        var afterRemove = await leader.RemoveMemberAsync(removed).AsTask().WaitAsync(Bound);
        Assert.DoesNotContain(removed, afterRemove.Voters);
        Assert.Equal(3, afterRemove.Voters.Count);
        Assert.Equal(afterRemove, leader.Configuration);
        // The event reported each of the three changes, in order.
        Assert.Equal([afterAdd, afterPromote, afterRemove], seen.ToArray());
        // The remaining three commit writes.
        Assert.Equal(12, await leader.ProposeAsync(7).AsTask().WaitAsync(Bound));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await leader.AddVoterAsync(0));
    }
}
