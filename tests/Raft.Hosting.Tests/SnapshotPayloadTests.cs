using System.Diagnostics;
using System.Text;
using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// Snapshots whose state travels as a payload (<see cref="ISnapshotPayloads"/>) over the in-memory network, with
/// real hosts: a lagging follower (paper section 7: the leader sends a snapshot to a follower that lags too far
/// behind) is caught up from the leader's live state and restores the descriptor it staged itself.
/// </summary>
public sealed class SnapshotPayloadTests : IAsyncLifetime
{
    private static readonly ulong[] Ids = [1, 2, 3];
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly InMemoryNetwork _network = new();
    private readonly Dictionary<ulong, (RaftHost Host, PayloadStateMachine Machine, MemoryStorage Store)> _nodes = [];

    public Task InitializeAsync()
    {
        foreach (var id in Ids)
        {
            var machine = new PayloadStateMachine(id);
            var store = new MemoryStorage();
            var host = new RaftHost(new RaftHostOptions
            {
                Raft = new RaftConfig { Id = id, Voters = Ids, ElectionTimeoutTicks = 10 },
                TickInterval = TimeSpan.FromMilliseconds(10),
                SnapshotEveryEntries = 50,
            }, store, machine, _network.TransportFor(id, machine));
            _nodes[id] = (host, machine, store);
            host.Start();
        }
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var (host, _, _) in _nodes.Values) await host.DisposeAsync();
    }

    [Fact]
    public async Task A_lagging_follower_catches_up_from_a_payload_and_restores_the_descriptor_it_staged()
    {
        var (leader, lagging) = await PartitionAndWriteAsync();
        var leaderMachine = _nodes[leader.Id].Machine;
        _network.Heal();
        await WaitUntilAsync(() => lagging.Machine.Items.Count == Writes);

        Assert.Equal(leaderMachine.Items, lagging.Machine.Items);
        Assert.True(leaderMachine.LastPayloadBytes > Writes * PayloadStateMachine.BlockBytes, $"payload of {leaderMachine.LastPayloadBytes} bytes");
        // The snapshots themselves stay tiny: the leader's is a descriptor of its live state...
        Assert.True(_nodes[leader.Id].Store.Snapshot!.Data.Length < 64);
        // ...and the follower restored (and stored) the descriptor its own AcceptPayload returned.
        var accepted = Assert.Single(lagging.Machine.Accepted);
        Assert.Equal(accepted.Descriptor, Assert.Single(lagging.Machine.Restores));
        Assert.Equal(accepted.Descriptor, lagging.Store.Snapshot!.Data.ToArray());
        Assert.StartsWith($"staged:{lagging.Host.Id}:", Encoding.UTF8.GetString(accepted.Descriptor), StringComparison.Ordinal);
        // The payload was copied from the live state, past the snapshot's index: the host went on applying from the
        // snapshot's index, and the machine skipped what it held (a gap would have stopped the host).
        Assert.True(accepted.StateIndex > accepted.SnapshotIndex, $"state {accepted.StateIndex}, snapshot {accepted.SnapshotIndex}");
        Assert.Equal(0, lagging.Machine.StagedCount);
        Assert.False(lagging.Host.Completion.IsCompleted);
        await ProposeAsync("after"u8.ToArray());
        await WaitUntilAsync(() => lagging.Machine.Items.Count == Writes + 1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_corrupt_or_truncated_payload_is_refused_and_a_later_retry_succeeds(bool corrupt)
    {
        var (leader, lagging) = await PartitionAndWriteAsync();
        var leaderMachine = _nodes[leader.Id].Machine;
        if (corrupt) leaderMachine.CorruptNextPayloads = 1;
        else leaderMachine.TruncateNextPayloads = 1;
        _network.Heal();
        await WaitUntilAsync(() => lagging.Machine.Items.Count == Writes);

        Assert.IsType<InvalidDataException>(Assert.Single(lagging.Machine.AcceptFailures));
        // Only the intact copy was staged and restored.
        Assert.Equal(Assert.Single(lagging.Machine.Accepted).Descriptor, Assert.Single(lagging.Machine.Restores));
        Assert.Equal(leaderMachine.Items, lagging.Machine.Items);
    }

    private const int Writes = 160;

    /// <summary>Cuts a follower off, then writes past three snapshots, so the leader compacts what it needs.</summary>
    private async Task<(RaftHost Leader, (RaftHost Host, PayloadStateMachine Machine, MemoryStorage Store) Lagging)> PartitionAndWriteAsync()
    {
        var leader = await LeaderAsync();
        var lagging = _nodes.Values.First(n => n.Host != leader);
        _network.Isolate(lagging.Host.Id, Ids);
        for (var i = 0; i < Writes; i++) await ProposeAsync(Encoding.UTF8.GetBytes($"p{i}"));
        leader = await LeaderAsync();
        // Compacted, and no snapshot still coming (one starts 50 entries after the last): the one the follower gets
        // stays valid while it catches up, so it needs exactly one.
        await WaitUntilAsync(() => leader.Status is { FirstIndex: > 100 } s && s.Applied - (s.FirstIndex - 1) < 50);
        return (leader, lagging);
    }

    /// <summary>Proposes on whoever leads, again on the new leader when leadership moved before the command was taken.</summary>
    private async Task ProposeAsync(byte[] command)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await (await LeaderAsync()).ProposeAsync(command);
                return;
            }
            catch (NotLeaderException) when (stopwatch.Elapsed < Bound)
            {
                // Not appended anywhere: safe to propose again.
            }
        }
    }

    private async Task<RaftHost> LeaderAsync()
    {
        RaftHost? leader = null;
        await WaitUntilAsync(() =>
        {
            var leaders = _nodes.Values.Where(n => n.Host.Status?.Role == RaftRole.Leader).ToArray();
            leader = leaders.Length == 1 ? leaders[0].Host : null;
            return leader is not null;
        });
        return leader!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > Bound) throw new TimeoutException("condition not reached");
            await Task.Delay(10);
        }
    }
}
