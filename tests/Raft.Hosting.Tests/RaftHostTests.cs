using System.Diagnostics;
using System.Text;
using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>The embeddable host: real threads and timers, in-memory network and storage.</summary>
public sealed class RaftHostTests : IAsyncLifetime
{
    private static readonly ulong[] Ids = [1, 2, 3];
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly InMemoryNetwork _network = new();
    private readonly Dictionary<ulong, (RaftHost Host, ListStateMachine Machine)> _nodes = [];

    public Task InitializeAsync()
    {
        foreach (var id in Ids)
        {
            var machine = new ListStateMachine();
            var host = new RaftHost(new RaftHostOptions
            {
                Raft = new RaftConfig { Id = id, Voters = Ids, ElectionTimeoutTicks = 10 },
                TickInterval = TimeSpan.FromMilliseconds(10),
                SnapshotEveryEntries = 50,
            }, new MemoryStorage(), machine, _network.TransportFor(id));
            _nodes[id] = (host, machine);
            host.Start();
        }
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var (host, _) in _nodes.Values) await host.DisposeAsync();
    }

    private Task<RaftHost> LeaderAsync() => HostWaits.SingleLeaderAsync(_nodes.Values.Select(n => n.Host), Bound);

    [Fact]
    public async Task ProposeAsync_OnTheLeader_ReturnsTheStateMachinesResult()
    {
        var leader = await LeaderAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => leader.ProposeAsync(Encoding.UTF8.GetBytes($"x{i}")).AsTask()));
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (object?)i), results.Order());
        var expected = _nodes[leader.Id].Machine.Items;
        Assert.Equal(100, expected.Count);
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < Bound && _nodes.Values.Any(n => n.Machine.Items.Count < 100)) await Task.Delay(10);
        Assert.All(_nodes.Values, n => Assert.Equal(expected, n.Machine.Items));
    }

    [Fact]
    public async Task ProposeAsync_OnAFollower_FailsWithTheLeaderHint()
    {
        var leader = await LeaderAsync();
        var stopwatch = Stopwatch.StartNew();
        var follower = _nodes.Values.First(n => n.Host != leader).Host;
        while (stopwatch.Elapsed < Bound && follower.Status?.Leader != leader.Id) await Task.Delay(10);
        var e = await Assert.ThrowsAsync<NotLeaderException>(() => follower.ProposeAsync("x"u8.ToArray()).AsTask());
        Assert.Equal(leader.Id, e.LeaderId);
    }

    [Fact]
    public async Task ReadBarrier_OnAFollower_SeesEveryAcknowledgedWrite()
    {
        // Thesis section 6.4: after the barrier, the follower's state includes all writes acknowledged before it.
        var leader = await LeaderAsync();
        for (var i = 0; i < 20; i++) await leader.ProposeAsync(Encoding.UTF8.GetBytes($"r{i}"));
        var follower = _nodes.Values.First(n => n.Host != leader);
        await follower.Host.ReadBarrierAsync().AsTask().WaitAsync(Bound);
        Assert.Contains("r19", follower.Machine.Items);
    }

    [Fact]
    public async Task IsolatedLeader_StepsDown_AndItsPendingProposalFails()
    {
        var leader = await LeaderAsync();
        _network.Isolate(leader.Id, Ids);
        var pending = leader.ProposeAsync("lost?"u8.ToArray()).AsTask();
        var newLeader = await WaitAsync(async () =>
        {
            var l = await LeaderAsync();
            return l != leader ? l : null;
        });
        await newLeader.ProposeAsync("kept"u8.ToArray());
        _network.Heal();
        var e = await Assert.ThrowsAnyAsync<RaftHostException>(() => pending.WaitAsync(Bound));
        Assert.True(e is ProposalDroppedException or NotLeaderException, e.GetType().Name);
        Assert.DoesNotContain("lost?", _nodes[newLeader.Id].Machine.Items);
    }

    [Fact]
    public async Task Snapshots_KeepTheLogShort_AndALaggingFollowerCatchesUp()
    {
        var leader = await LeaderAsync();
        var lagging = _nodes.Values.First(n => n.Host != leader);
        _network.Isolate(lagging.Host.Id, Ids);
        // 200 entries: the leader snapshots every 50 and compacts, so the follower must get a snapshot.
        for (var i = 0; i < 200; i++) await leader.ProposeAsync(Encoding.UTF8.GetBytes($"s{i}"));
        // Snapshots are written off the loop and published a little later.
        await WaitAsync(() => Task.FromResult<object?>(leader.Status!.FirstIndex > 100 ? new object() : null));
        _network.Heal();
        await WaitAsync(() => Task.FromResult<object?>(lagging.Machine.Items.Count == 200 ? new object() : null));
        Assert.Equal(_nodes[leader.Id].Machine.Items, lagging.Machine.Items);
    }

    [Fact]
    public async Task A_snapshot_being_written_does_not_hold_up_commits()
    {
        // Paper section 7: snapshotting must not stop normal operation. The loop only captures; the write happens
        // elsewhere, so entries keep committing on this node while it is blocked.
        var leader = await LeaderAsync();
        var machine = _nodes[leader.Id].Machine;
        machine.SnapshotWrites.Reset();
        try
        {
            for (var i = 0; i < 60; i++) await leader.ProposeAsync(Encoding.UTF8.GetBytes($"a{i}"));
            await WaitAsync(() => Task.FromResult<object?>(machine.BlockedSnapshotWrites == 1 ? new object() : null));
            var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => leader.ProposeAsync(Encoding.UTF8.GetBytes($"b{i}")).AsTask()));
            Assert.Equal(100, results.Length);
            Assert.Equal(1, machine.BlockedSnapshotWrites); // still writing the first capture, and only that one
            Assert.Equal(1ul, leader.Status!.FirstIndex); // nothing compacted before the snapshot is durable
            Assert.Equal(160, machine.Items.Count);
        }
        finally
        {
            machine.SnapshotWrites.Set();
        }
        await WaitAsync(() => Task.FromResult<object?>(leader.Status!.FirstIndex > 50 ? new object() : null));
    }

    [Fact]
    public async Task A_failed_snapshot_write_keeps_the_node_serving_and_is_retried_later()
    {
        // Nothing the log depends on is touched by a failed snapshot: the log stays whole until a later one works.
        var leader = await LeaderAsync();
        var machine = _nodes[leader.Id].Machine;
        machine.FailingSnapshotWrites = 1;
        for (var i = 0; i < 70; i++) await leader.ProposeAsync(Encoding.UTF8.GetBytes($"f{i}"));
        await WaitAsync(() => Task.FromResult<object?>(Volatile.Read(ref machine.FailingSnapshotWrites) <= 0 ? new object() : null));
        Assert.Equal(1ul, leader.Status!.FirstIndex); // the failed attempt compacted nothing
        // The next attempt comes after another SnapshotEveryEntries (50) entries, and succeeds.
        for (var i = 0; i < 110; i++) await leader.ProposeAsync(Encoding.UTF8.GetBytes($"g{i}"));
        await WaitAsync(() => Task.FromResult<object?>(leader.Status!.FirstIndex > 100 ? new object() : null));
        Assert.Equal(180, machine.Items.Count);
    }

    [Fact]
    public async Task Dispose_FailsWaitingProposalsWithNodeStopped()
    {
        var leader = await LeaderAsync();
        foreach (var other in _nodes.Values.Where(n => n.Host != leader)) _network.Isolate(other.Host.Id, Ids);
        var pending = leader.ProposeAsync("never"u8.ToArray()).AsTask();
        await leader.DisposeAsync();
        await Assert.ThrowsAsync<NodeStoppedException>(() => pending.WaitAsync(Bound));
        await Assert.ThrowsAsync<NodeStoppedException>(() => leader.ProposeAsync("after"u8.ToArray()).AsTask());
    }

    private static async Task<T> WaitAsync<T>(Func<Task<T?>> probe) where T : class
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < Bound)
        {
            if (await probe() is { } value) return value;
            await Task.Delay(10);
        }
        throw new TimeoutException("condition not reached");
    }
}
