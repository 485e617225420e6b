using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Text;
using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Raft.Hosting.Tests;

/// <summary>
/// The typed layer over <see cref="RaftHost"/>: typed results, linearizable reads through the state machine (thesis
/// section 6.4), commands the codec cannot decode, and snapshots through the typed state machine.
/// </summary>
public sealed class TypedHostTests : IAsyncLifetime
{
    private static readonly ulong[] Ids = [1, 2, 3];
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly InMemoryNetwork _network = new();
    private readonly Dictionary<ulong, (TypedRaftHost<Add, long> Host, Tally Tally, MemoryStorage Store)> _nodes = [];
    private ulong _snapshotEveryEntries = 10_000;

    private void Start()
    {
        foreach (var id in Ids) StartNode(id, new MemoryStorage());
    }

    private TypedRaftHost<Add, long> StartNode(ulong id, MemoryStorage store)
    {
        var tally = new Tally();
        var options = new RaftHostOptions
        {
            Raft = new RaftConfig { Id = id, Voters = Ids, ElectionTimeoutTicks = 10, PreVote = true, CheckQuorum = true },
            TickInterval = TimeSpan.FromMilliseconds(10),
            SnapshotEveryEntries = _snapshotEveryEntries,
        };
        var host = new TypedRaftHost<Add, long>(options, store, tally, AddCodec.Instance, _network.TransportFor(id));
        _nodes[id] = (host, tally, store);
        host.Start();
        return host;
    }

    // IAsyncLifetime, not IAsyncDisposable: xunit 2 never calls a test class's DisposeAsync, and the hosts' loops
    // would outlive the test.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (host, _, _) in _nodes.Values) await host.DisposeAsync();
    }

    private async Task<(TypedRaftHost<Add, long> Leader, TypedRaftHost<Add, long> Follower, Tally FollowerTally)> StableAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < Bound)
        {
            var leaders = _nodes.Values.Where(n => n.Host.Status?.Role == RaftRole.Leader).ToArray();
            if (leaders.Length == 1)
            {
                var leader = leaders[0].Host;
                var follower = _nodes.Values.FirstOrDefault(n => n.Host != leader && n.Host.Status?.Leader == leader.Id);
                if (follower.Host is not null) return (leader, follower.Host, follower.Tally);
            }
            await Task.Delay(10);
        }
        throw new TimeoutException("no stable leader with a follower");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            if (stopwatch.Elapsed > Bound) throw new TimeoutException($"not within {Bound.TotalSeconds} s: {what}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task ProposeAsync_CompletesWithTheTypedResultOfApply()
    {
        Start();
        var (leader, _, _) = await StableAsync();
        Assert.Equal(2, await leader.ProposeAsync(new Add("a", 2)));
        Assert.Equal(5, await leader.ProposeAsync(new Add("a", 3)));
        Assert.Equal(-1, await leader.ProposeAsync(new Add("b", -1)));
    }

    [Fact]
    public async Task ProposeAsync_OnAFollower_FailsWithNotLeader()
    {
        Start();
        var (leader, follower, _) = await StableAsync();
        var e = await Assert.ThrowsAsync<NotLeaderException>(() => follower.ProposeAsync(new Add("a", 1)).AsTask());
        Assert.Equal(leader.Id, e.LeaderId);
    }

    [Fact]
    public async Task ReadAsync_OnAFollower_SeesAWriteAcknowledgedBeforeIt_Thesis6_4()
    {
        Start();
        var (leader, follower, tally) = await StableAsync();
        // The follower gets no entries: the write commits on the other two, and the follower has not applied it.
        var appendsLost = 1;
        _network.Drop = m => m.To == follower.Id && m.Type == MessageType.Append && Volatile.Read(ref appendsLost) == 1;
        Assert.Equal(7, await leader.ProposeAsync(new Add("x", 7)).AsTask().WaitAsync(Bound));
        Assert.Equal(0, tally.Get("x"));

        var read = follower.ReadAsync(() => tally.Get("x")).AsTask();
        Volatile.Write(ref appendsLost, 0);
        Assert.Equal(7, await read.WaitAsync(Bound));
    }

    [Fact]
    public async Task ACommandTheCodecCannotDecode_FailsForItsProposer_IsANoOpOnEveryNode_AndStopsNoNode()
    {
        Start();
        var (leader, _, _) = await StableAsync();
        Assert.Equal(1, await leader.ProposeAsync(new Add("a", 1)));

        // Encode writes it, Decode refuses it: the codec is not total on its own output.
        var e = await Assert.ThrowsAsync<UndecodableCommandException>(() => leader.ProposeAsync(new Add(AddCodec.Undecodable, 1)).AsTask().WaitAsync(Bound));
        // Bytes no codec wrote, proposed through the untyped host underneath.
        var raw = await leader.Host.ProposeAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }).AsTask().WaitAsync(Bound);
        var rawIndex = Assert.IsType<TypedStateMachineAdapter<Add, long>.Undecodable>(raw).Index;

        Assert.Equal(3, await leader.ProposeAsync(new Add("a", 2)).AsTask().WaitAsync(Bound));
        foreach (var (host, tally, _) in _nodes.Values)
        {
            Assert.Equal(3, await host.ReadAsync(() => tally.Get("a")).AsTask().WaitAsync(Bound));
            Assert.Contains(e.Index, tally.NoOps);
            Assert.Contains(rawIndex, tally.NoOps);
            Assert.DoesNotContain(AddCodec.Undecodable, tally.Keys);
            Assert.False(host.Completion.IsCompleted);
        }
    }

    [Fact]
    public async Task ACommandThatEncodesToNoBytes_IsRefusedBeforeItIsProposed()
    {
        Start();
        var (leader, _, _) = await StableAsync();
        await Assert.ThrowsAsync<ArgumentException>(() => leader.ProposeAsync(new Add(AddCodec.Empty, 1)).AsTask());
    }

    [Fact]
    public async Task ARestartedNode_RestoresTheTypedStateFromItsSnapshot_ThenReplaysTheRest()
    {
        _snapshotEveryEntries = 5;
        Start();
        var (leader, follower, _) = await StableAsync();
        for (var i = 1; i <= 12; i++) await leader.ProposeAsync(new Add($"k{i % 3}", i)).AsTask().WaitAsync(Bound);
        var store = _nodes[follower.Id].Store;
        await WaitUntilAsync(() => follower.Host.Stats.SnapshotsPublished > 0, "the follower published a snapshot");

        await follower.DisposeAsync();
        var restarted = StartNode(follower.Id, store);
        var tally = _nodes[follower.Id].Tally;
        Assert.Equal(1, tally.Restores);
        var expected = _nodes[leader.Id].Tally.Snapshot();
        // A read needs a known leader (NotLeaderException otherwise): the restarted node learns it at the next heartbeat.
        await WaitUntilAsync(() => restarted.Status?.Leader == leader.Id, "the restarted node knows the leader");
        Assert.Equal(expected, await restarted.ReadAsync(tally.Snapshot).AsTask().WaitAsync(Bound));
    }

    [Fact]
    public async Task ALaggingFollower_RestoresTheTypedStateFromTheLeadersSnapshot()
    {
        _snapshotEveryEntries = 5;
        Start();
        var (leader, follower, tally) = await StableAsync();
        _network.Isolate(follower.Id, Ids);
        for (var i = 1; i <= 12; i++) await leader.ProposeAsync(new Add($"k{i % 3}", i)).AsTask().WaitAsync(Bound);
        await WaitUntilAsync(() => leader.Host.Stats.SnapshotsPublished > 0, "the leader compacted its log");
        // The loop's own CPU time for a snapshot is measured where the thread clock exists, and cannot exceed its wall time.
        var stats = leader.Host.Stats;
        if (OperatingSystem.IsLinux()) Assert.InRange(stats.SnapshotLoopCpuTimeMax!.Value, TimeSpan.Zero, stats.SnapshotLoopTimeMax);
        _network.Heal();

        await WaitUntilAsync(() => tally.Restores > 0, "the follower restored the leader's snapshot");
        var expected = _nodes[leader.Id].Tally.Snapshot();
        await WaitUntilAsync(() => tally.Snapshot().SequenceEqual(expected), "the follower caught up");
        Assert.Equal(expected, await follower.ReadAsync(tally.Snapshot).AsTask().WaitAsync(Bound));
    }

    /// <summary>Adds <paramref name="Delta"/> to the number under <paramref name="Key"/>; the result is the new number.</summary>
    public sealed record Add(string Key, long Delta);

    /// <summary>
    /// Numbers by key. The state is an immutable dictionary swapped on the loop thread, so captures are a reference
    /// copy and reads on other threads are safe without a lock.
    /// </summary>
    private sealed class Tally : IStateMachine<Add, long>
    {
        private volatile ImmutableSortedDictionary<string, long> _state = ImmutableSortedDictionary<string, long>.Empty;
        private volatile ImmutableList<ulong> _noOps = [];
        private int _restores;

        public ImmutableList<ulong> NoOps => _noOps;

        public int Restores => Volatile.Read(ref _restores);

        public IEnumerable<string> Keys => _state.Keys;

        public long Get(string key) => _state.GetValueOrDefault(key);

        public ImmutableSortedDictionary<string, long> Snapshot() => _state;

        public long Apply(Add command, ulong index)
        {
            var value = _state.GetValueOrDefault(command.Key) + command.Delta;
            _state = _state.SetItem(command.Key, value);
            return value;
        }

        public void ApplyNoOp(ulong index) => _noOps = _noOps.Add(index);

        public IStateMachineSnapshot CaptureSnapshot() => new Capture(_state);

        public void Restore(Stream source)
        {
            using var reader = new BinaryReader(source, Encoding.UTF8, leaveOpen: true);
            var count = reader.ReadInt32();
            var builder = ImmutableSortedDictionary.CreateBuilder<string, long>();
            for (var i = 0; i < count; i++) builder[reader.ReadString()] = reader.ReadInt64();
            _state = builder.ToImmutable();
            Interlocked.Increment(ref _restores);
        }

        private sealed class Capture(ImmutableSortedDictionary<string, long> state) : IStateMachineSnapshot
        {
            public long SizeHintBytes => 4 + state.Sum(p => p.Key.Length + 9);

            public void WriteTo(Stream destination)
            {
                // BinaryWriter is little-endian on every machine.
                using var writer = new BinaryWriter(destination, Encoding.UTF8, leaveOpen: true);
                writer.Write(state.Count);
                foreach (var (key, value) in state)
                {
                    writer.Write(key);
                    writer.Write(value);
                }
            }
        }
    }

    /// <summary>8 bytes of delta, then the key in UTF-8. Refuses to decode one marker key, to test decode failures.</summary>
    private sealed class AddCodec : ICommandCodec<Add>
    {
        public const string Undecodable = "undecodable";
        public const string Empty = "encodes-to-nothing";

        public static AddCodec Instance { get; } = new();

        public void Encode(Add value, IBufferWriter<byte> destination)
        {
            if (value.Key == Empty) return;
            var span = destination.GetSpan(sizeof(long) + Encoding.UTF8.GetMaxByteCount(value.Key.Length));
            BinaryPrimitives.WriteInt64LittleEndian(span, value.Delta);
            var keyBytes = Encoding.UTF8.GetBytes(value.Key, span[sizeof(long)..]);
            destination.Advance(sizeof(long) + keyBytes);
        }

        public Add Decode(ReadOnlySpan<byte> source)
        {
            if (source.Length < sizeof(long)) throw new FormatException($"a command is at least 8 bytes, not {source.Length}");
            var key = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(source[sizeof(long)..]);
            if (key == Undecodable) throw new FormatException("the marker key is refused");
            return new Add(key, BinaryPrimitives.ReadInt64LittleEndian(source));
        }
    }
}
