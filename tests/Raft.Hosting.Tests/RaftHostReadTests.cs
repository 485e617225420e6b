using System.Diagnostics;
using System.Text;
using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// Linearizable reads through the host (thesis section 6.4) when requests and answers get lost or come from the
/// past: reads are retried, bounded in time and number, and never completed by an answer meant for an earlier
/// incarnation of the node.
/// </summary>
public sealed class RaftHostReadTests : IAsyncLifetime
{
    private static readonly ulong[] Ids = [1, 2, 3];
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly InMemoryNetwork _network = new();
    private readonly Dictionary<ulong, (RaftHost Host, ListStateMachine Machine)> _nodes = [];

    private void Start(Func<RaftHostOptions, RaftHostOptions>? configure = null)
    {
        foreach (var id in Ids)
        {
            var machine = new ListStateMachine();
            var options = new RaftHostOptions
            {
                Raft = new RaftConfig { Id = id, Voters = Ids, ElectionTimeoutTicks = 10, PreVote = true, CheckQuorum = true },
                TickInterval = TimeSpan.FromMilliseconds(10),
                ReadTimeout = TimeSpan.FromSeconds(10),
                ReadRetryInterval = TimeSpan.FromMilliseconds(200),
            };
            var host = new RaftHost(configure?.Invoke(options) ?? options, new MemoryStorage(), machine, _network.TransportFor(id));
            _nodes[id] = (host, machine);
            host.Start();
        }
    }

    // IAsyncLifetime, not IAsyncDisposable: xunit 2 never calls a test class's DisposeAsync, and the hosts' loops
    // would outlive the test.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (host, _) in _nodes.Values) await host.DisposeAsync();
    }

    private async Task<(RaftHost Leader, RaftHost Follower, ListStateMachine FollowerMachine)> StableAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < Bound)
        {
            var leaders = _nodes.Values.Where(n => n.Host.Status?.Role == RaftRole.Leader).ToArray();
            if (leaders.Length == 1)
            {
                var leader = leaders[0].Host;
                var follower = _nodes.Values.FirstOrDefault(n => n.Host != leader && n.Host.Status?.Leader == leader.Id);
                if (follower.Host is not null) return (leader, follower.Host, follower.Machine);
            }
            await Task.Delay(10);
        }
        throw new TimeoutException("no stable leader with a follower");
    }

    [Fact]
    public async Task AForwardedReadWhoseRequestIsLost_IsRetriedAndCompletes()
    {
        Start();
        var (leader, follower, machine) = await StableAsync();
        for (var i = 0; i < 5; i++) await leader.ProposeAsync(Encoding.UTF8.GetBytes($"w{i}"));

        // Lose the follower's first ReadIndex request to the leader, and only that one.
        var lost = 0;
        _network.Drop = m => m.Type == MessageType.ReadIndex && m.From == follower.Id && Interlocked.Exchange(ref lost, 1) == 0;
        await follower.ReadBarrierAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(1, Volatile.Read(ref lost));
        Assert.Contains("w4", machine.Items);
    }

    [Fact]
    public async Task AReadNoLeaderAnswers_FailsAtItsTimeout()
    {
        Start(o => o with { ReadTimeout = TimeSpan.FromMilliseconds(300), ReadRetryInterval = TimeSpan.FromMilliseconds(100) });
        var (leader, follower, _) = await StableAsync();
        _network.Drop = m => m.Type is MessageType.ReadIndex or MessageType.ReadIndexResponse;
        var e = await Assert.ThrowsAsync<ReadTimedOutException>(() => follower.ReadBarrierAsync().AsTask().WaitAsync(Bound));
        Assert.Contains("300 ms", e.Message, StringComparison.Ordinal);

        // Later reads work again once the network does.
        _network.Drop = null;
        await follower.ReadBarrierAsync().AsTask().WaitAsync(Bound);
        await leader.ReadBarrierAsync().AsTask().WaitAsync(Bound);
    }

    [Fact]
    public async Task WaitingReadsAreBounded()
    {
        Start(o => o with { MaxPendingReads = 3, ReadTimeout = TimeSpan.FromSeconds(30) });
        var (_, follower, _) = await StableAsync();
        _network.Drop = m => m.Type is MessageType.ReadIndex or MessageType.ReadIndexResponse;
        var waiting = Enumerable.Range(0, 3).Select(_ => follower.ReadBarrierAsync().AsTask()).ToArray();
        var refused = await Assert.ThrowsAsync<ProposalDroppedException>(async () =>
        {
            // The three above are queued first (one inbox, handled in order), so this one finds the table full.
            var stopwatch = Stopwatch.StartNew();
            while (stopwatch.Elapsed < Bound) await follower.ReadBarrierAsync().AsTask().WaitAsync(Bound);
        });
        Assert.Contains("too many reads", refused.Message, StringComparison.Ordinal);
        Assert.All(waiting, t => Assert.False(t.IsCompleted));
        _network.Drop = null;
        await Task.WhenAll(waiting).WaitAsync(Bound);
    }

    [Fact]
    public async Task AnAnswerForAnEarlierIncarnationsRead_DoesNotCompleteANewRead()
    {
        // A restarted node numbering its reads from 1 again would take a ReadIndexResponse still in flight for its
        // previous life as the answer to its new read, with an older index: a stale "linearizable" read.
        Start();
        var (leader, follower, machine) = await StableAsync();
        var term = leader.Status!.Term;

        // The follower keeps hearing heartbeats (so it keeps its leader) but gets no appends and no read answers;
        // meanwhile writes commit on the other two.
        _network.Drop = m => m.From == leader.Id && m.To == follower.Id && m.Type != MessageType.Heartbeat;
        for (var i = 0; i < 20; i++) await leader.ProposeAsync(Encoding.UTF8.GetBytes($"s{i}"));
        var read = follower.ReadBarrierAsync().AsTask();

        // Answers with the first ids a fresh process would use, and an index from before the writes. They are
        // queued behind the read, so a read numbered like them would complete at once, before any catching up.
        for (ulong id = 1; id <= 16; id++)
        {
            Assert.True(follower.TryDeliver(new Message { Type = MessageType.ReadIndexResponse, From = leader.Id, To = follower.Id, Term = term, Index = 1, Context = id }));
        }

        // The read completes only with a real answer (its retry, once the network heals): then it sees every write.
        _network.Drop = null;
        await read.WaitAsync(Bound);
        Assert.Contains("s19", machine.Items);
    }
}
