using System.Collections.Concurrent;
using System.Diagnostics;
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
    private readonly Dictionary<ulong, ConcurrentQueue<ConfState>> _configurations = [];

    private TypedRaftHost<long, long> StartNode(ulong id, IReadOnlyList<ulong> voters)
    {
        var counter = new Counter();
        var host = new TypedRaftHost<long, long>(new RaftHostOptions
        {
            Raft = new RaftConfig { Id = id, Voters = voters, ElectionTimeoutTicks = 10 },
            TickInterval = TimeSpan.FromMilliseconds(10),
        }, new MemoryStorage(), counter, Int64Codec.Instance, _network.TransportFor(id));
        if (id == 1) host.LeaderChanged += _leaderChanges.Enqueue;
        var configurations = _configurations[id] = new ConcurrentQueue<ConfState>();
        host.ConfigurationChanged += configurations.Enqueue;
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

    /// <summary>
    /// Runs <paramref name="call"/> on the leader, and again on the next leader if leadership changed under it (an
    /// election on a loaded machine). That is safe: a dropped proposal's index holds another entry, so it was never
    /// committed, and a refusal appended nothing.
    /// </summary>
    private async Task<T> OnLeaderAsync<T>(Func<TypedRaftHost<long, long>, ValueTask<T>> call)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            var leader = await LeaderAsync();
            try
            {
                return await call(leader).AsTask().WaitAsync(Bound);
            }
            catch (RaftHostException e) when (stopwatch.Elapsed < Bound && e is ProposalDroppedException or NotLeaderException
                                                  or ConfChangeRefusedException { Kind: ConfChangeRefusalKind.Pending or ConfChangeRefusalKind.TransferInProgress })
            {
                await Task.Delay(20);
            }
        }
    }

    [Fact]
    public async Task Status_NamesTheLeaderTermAndIndexes_AndLeaderChangedReportsTheElection()
    {
        foreach (var id in Initial) StartNode(id, Initial);
        Assert.Equal(11, await OnLeaderAsync(l => l.ProposeAsync(11)));
        var leader = await LeaderAsync();

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
        Assert.Equal(5, await OnLeaderAsync(l => l.ProposeAsync(5)));

        var afterAdd = await OnLeaderAsync(l => l.AddLearnerAsync(4));
        Assert.Equal([4UL], afterAdd.Learners);
        Assert.Equal(Initial, afterAdd.Voters);
        // The learner catches up: it applies the write made before it joined.
        await HostWaits.UntilAsync(() => _nodes[4].Counter.Value == 5, Bound, "the learner to apply the earlier write");

        var afterPromote = await OnLeaderAsync(l => l.PromoteLearnerAsync(4));
        Assert.Equal([1UL, 2, 3, 4], afterPromote.Voters);
        Assert.Empty(afterPromote.Learners);

        ulong removed = 0;
        var afterRemove = await OnLeaderAsync(l => l.RemoveMemberAsync(removed = Initial.First(id => id != l.Id)));
        Assert.DoesNotContain(removed, afterRemove.Voters);
        Assert.Equal(3, afterRemove.Voters.Count);
        var leader = await LeaderAsync();
        // A leader elected after the removal committed may not have applied it yet: Configuration and the event follow apply.
        await HostWaits.UntilAsync(() => afterRemove.Equals(leader.Configuration), Bound, "the leader applying the removal");
        // The event reported each of the three changes, in order, on a voter that applied them all.
        Assert.Equal([afterAdd, afterPromote, afterRemove], _configurations[leader.Id].ToArray());
        // The remaining three commit writes.
        Assert.Equal(12, await OnLeaderAsync(l => l.ProposeAsync(7)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await leader.AddVoterAsync(0));
    }
}
