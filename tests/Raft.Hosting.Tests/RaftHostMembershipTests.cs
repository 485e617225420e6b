using System.Collections.Concurrent;
using System.Text;
using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// Configuration changes through the host (thesis chapter 4): three members bootstrapped with their configuration in
/// the log (<see cref="RaftBootstrap"/>) and a fourth that starts with an empty log and joins as a learner, is
/// promoted once caught up (section 4.2.1), and a voter is removed.
/// </summary>
public sealed class RaftHostMembershipTests : IAsyncLifetime
{
    private static readonly ulong[] Initial = [1, 2, 3];
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly InMemoryNetwork _network = new();
    private readonly Dictionary<ulong, (RaftHost Host, MembersStateMachine Machine)> _nodes = [];
    private readonly Dictionary<ulong, MemoryStorage> _storages = [];
    private readonly ConcurrentDictionary<ulong, ConcurrentQueue<(ulong Index, ConfState Conf)>> _applied = new();

    private static ReadOnlyMemory<byte> ContextOf(ulong id) => Encoding.UTF8.GetBytes($"member-{id}=http://m{id}:2380");

    public Task InitializeAsync()
    {
        var entries = RaftBootstrap.InitialEntries(Initial.Select(id => (id, ContextOf(id))).ToArray());
        foreach (var id in new ulong[] { 1, 2, 3, 4 })
        {
            var storage = new MemoryStorage();
            if (Initial.Contains(id))
            {
                storage.Append(entries);
                storage.SetHardState(RaftBootstrap.InitialHardState(entries.Count));
            }
            _storages[id] = storage;
            StartHost(id);
        }
        return Task.CompletedTask;
    }

    private RaftHost StartHost(ulong id)
    {
        var machine = new MembersStateMachine();
        // No Voters anywhere: the configuration is in the log (and node 4 has none yet).
        var host = new RaftHost(new RaftHostOptions
        {
            Raft = new RaftConfig { Id = id, ElectionTimeoutTicks = 10 },
            TickInterval = TimeSpan.FromMilliseconds(10),
        }, _storages[id], machine, _network.TransportFor(id));
        var applied = _applied[id] = new();
        host.ConfigurationApplied += (entry, conf) => applied.Enqueue((entry.Index, conf));
        _nodes[id] = (host, machine);
        host.Start();
        return host;
    }

    public async Task DisposeAsync()
    {
        foreach (var (host, _) in _nodes.Values) await host.DisposeAsync();
    }

    [Fact]
    public async Task Bootstrapped_TheHostsApplyTheInitialConfigurationFromTheLog_TheNewcomerHasNone()
    {
        await LeaderAsync();
        foreach (var id in Initial)
        {
            var (host, machine) = _nodes[id];
            Assert.Equal(new ConfState(Initial), host.Configuration);
            // The state machine saw the bootstrap entries, contexts included; the event fired for each.
            Assert.Equal(Initial.Select(v => ConfChange.Single(ConfChangeType.AddVoter, v, ContextOf(v))), machine.Changes.Take(3).Select(c => c.Change));
            Assert.Equal(new ulong[] { 1, 2, 3 }, _applied[id].Take(3).Select(a => a.Index));
        }
        Assert.Equal(ConfState.Empty, _nodes[4].Host.Configuration);
        Assert.Empty(_applied[4]);
    }

    [Fact]
    public async Task Section4_2_1_AddLearner_Promote_RemoveVoter_EachCompletesWithItsApplyResult_AndEveryNodeSeesIt()
    {
        var leader = await LeaderAsync();
        await leader.ProposeAsync("w1"u8.ToArray());

        var learner = new ConfState(Initial, [4], [], autoLeave: false);
        var result = await leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.AddLearner, 4, ContextOf(4)));
        var index = Assert.IsType<ulong>(result); // the state machine's result: the index of the change
        Assert.Equal(learner, leader.Configuration); // applied here before the call completed
        await UntilAsync(() => _nodes[4].Host.Configuration.Equals(learner), "the newcomer applying its addition");
        // The newcomer learned every configuration from the log, from index 1.
        Assert.Equal(new ulong[] { 1, 2, 3, index }, _applied[4].Select(a => a.Index));
        Assert.Equal(ContextOf(4).ToArray(), _nodes[4].Machine.Changes.Last().Change.Context.ToArray());

        // Caught up (the leader's match index for it), then promoted.
        await UntilAsync(() => leader.Status?.Progress.SingleOrDefault(p => p.Id == 4) is { IsLearner: true } p && p.Match >= index, "the learner catching up");
        await leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.PromoteLearner, 4));
        var four = new ConfState([1, 2, 3, 4]);
        await UntilAsync(() => _nodes.Values.All(n => n.Host.Configuration.Equals(four)), "every node at four voters");
        // Status is a copy the loop publishes after the iteration that applied the change: it may lag Configuration.
        await UntilAsync(() => leader.Status?.Progress.SingleOrDefault(p => p.Id == 4) is { IsLearner: false }, "the leader's progress showing 4 as a voter");

        // Remove a voter other than the leader.
        var removed = Initial.First(id => id != leader.Id);
        var removal = await leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.Remove, removed));
        var rest = new ConfState(new ulong[] { 1, 2, 3, 4 }.Where(id => id != removed));
        var remaining = _nodes.Where(n => n.Key != removed).Select(n => n.Value.Host).ToArray();
        await UntilAsync(() => remaining.All(h => h.Configuration.Equals(rest)), "the rest applying the removal");
        await leader.ProposeAsync("w2"u8.ToArray());

        // ConfigurationApplied fired on every remaining node, for every change, in order, with the same results.
        var expected = _applied[leader.Id].ToArray();
        Assert.Equal(6, expected.Length); // three bootstrap entries, add, promote, remove
        Assert.Equal((ulong)removal!, expected[^1].Index);
        Assert.Equal(rest, expected[^1].Conf);
        foreach (var host in remaining) Assert.Equal(expected, _applied[host.Id].ToArray());
        // The removed node saw at least the changes up to its removal's predecessor.
        Assert.Equal(expected[..5], _applied[removed].Take(5).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARestartedBootstrappedMember_HasItsConfigurationAgain_FromTheLogOrASnapshot(bool snapshot)
    {
        var leader = await LeaderAsync();
        var member = _nodes[Initial.First(id => id != leader.Id)].Host;
        await leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.AddLearner, 4, ContextOf(4)));
        var learner = new ConfState(Initial, [4], [], autoLeave: false);
        await UntilAsync(() => member.Configuration.Equals(learner), "the member applying the change");
        await member.DisposeAsync();
        if (snapshot)
        {
            // Compacted: restarted, it takes the configuration from the snapshot and applies only what follows it.
            var storage = _storages[member.Id];
            storage.CreateSnapshot(member.Status!.Applied, learner, default);
        }
        var restarted = StartHost(member.Id);
        if (snapshot) Assert.Equal(learner, restarted.Configuration); // at start (without one, the loop replays the log at once)
        await UntilAsync(() => restarted.Configuration.Equals(learner), "the restarted member replaying its log");
        if (!snapshot) Assert.Equal(new ulong[] { 1, 2, 3 }, _applied[member.Id].Take(3).Select(a => a.Index));
        await leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.PromoteLearner, 4));
        await UntilAsync(() => restarted.Configuration.Equals(new ConfState([1, 2, 3, 4])), "the restarted member following on");
    }

    [Fact]
    public async Task ARefusedChange_GivesTheCoresReason()
    {
        var leader = await LeaderAsync();
        await leader.ProposeAsync("w"u8.ToArray());
        var e = await Assert.ThrowsAsync<ConfChangeRefusedException>(() => leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.AddVoter, leader.Id)).AsTask());
        Assert.Equal(ConfChangeRefusalKind.Invalid, e.Kind);
        Assert.Contains($"node {leader.Id} is already a voter", e.Reason);
        e = await Assert.ThrowsAsync<ConfChangeRefusedException>(() => leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.UpdateNode, 9)).AsTask());
        Assert.Equal(ConfChangeRefusalKind.Invalid, e.Kind);
        Assert.Contains("node 9 is not a member", e.Reason);
        Assert.Contains(e.Reason, e.Message);
        // An update of a member goes through and changes nothing.
        await leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.UpdateNode, leader.Id, ContextOf(leader.Id)));
        Assert.Equal(new ConfState(Initial), leader.Configuration);
    }

    [Fact]
    public async Task ASecondChange_WhileOneIsPending_IsRefusedWithKindPending()
    {
        var leader = await LeaderAsync();
        await leader.ProposeAsync("w"u8.ToArray()); // its first entry is applied: changes may be proposed
        _network.Isolate(leader.Id, _nodes.Keys); // the first change cannot commit
        var first = leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.AddLearner, 4)).AsTask();
        var e = await Assert.ThrowsAsync<ConfChangeRefusedException>(() => leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.UpdateNode, 1)).AsTask());
        Assert.Equal(ConfChangeRefusalKind.Pending, e.Kind);
        Assert.Contains("not applied yet", e.Reason);
        Assert.False(first.IsCompleted);
        _network.Heal();
        try
        {
            await first.WaitAsync(Bound);
        }
        catch (RaftHostException)
        {
            // The isolated leader may have stepped down meanwhile (check-quorum): the first change is then dropped.
        }
    }

    [Fact]
    public async Task OnAFollower_ItFailsWithNotLeader()
    {
        var leader = await LeaderAsync();
        var follower = _nodes[Initial.First(id => id != leader.Id)].Host;
        await UntilAsync(() => follower.Status?.Leader == leader.Id, "the follower knowing the leader");
        var e = await Assert.ThrowsAsync<NotLeaderException>(() => follower.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.AddLearner, 4)).AsTask());
        Assert.Equal(leader.Id, e.LeaderId);
        await Assert.ThrowsAsync<NotLeaderException>(() => _nodes[4].Host.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.AddLearner, 4)).AsTask());
    }

    [Fact]
    public async Task OnShutdown_ItFailsWithNodeStopped()
    {
        var leader = await LeaderAsync();
        await leader.ProposeAsync("w"u8.ToArray());
        _network.Isolate(leader.Id, _nodes.Keys);
        var pending = leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.AddLearner, 4)).AsTask();
        await leader.DisposeAsync();
        await Assert.ThrowsAsync<NodeStoppedException>(() => pending.WaitAsync(Bound));
        await Assert.ThrowsAsync<NodeStoppedException>(() => leader.ProposeConfChangeAsync(ConfChange.Single(ConfChangeType.AddLearner, 4)).AsTask());
    }

    private Task<RaftHost> LeaderAsync() => HostWaits.SingleLeaderAsync(_nodes.Values.Select(n => n.Host), Bound);

    private static Task UntilAsync(Func<bool> condition, string what) => HostWaits.UntilAsync(condition, Bound, what);

    /// <summary>Keeps the configuration changes it applied (as a server keeps its member list); the result of one is its index.</summary>
    private sealed class MembersStateMachine : IStateMachine
    {
        private readonly List<(ulong Index, ConfChange Change)> _changes = [];

        public IReadOnlyList<(ulong Index, ConfChange Change)> Changes
        {
            get
            {
                lock (_changes) return _changes.ToArray();
            }
        }

        public object? Apply(in Entry entry)
        {
            if (entry.Type != EntryType.ConfChange) return null;
            lock (_changes) _changes.Add((entry.Index, ConfChange.Decode(entry.Data.Span)));
            return entry.Index;
        }

        public IStateMachineSnapshot CaptureSnapshot() => new Empty();

        public void Restore(ReadOnlyMemory<byte> snapshot)
        {
        }

        private sealed class Empty : IStateMachineSnapshot
        {
            public long SizeHintBytes => 0;

            public void WriteTo(Stream destination)
            {
            }
        }
    }
}
