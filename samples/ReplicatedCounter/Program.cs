using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using RaftKv.Raft;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Hosting.InMemory;

namespace RaftKv.Samples.ReplicatedCounter;

/// <summary>
/// Three Raft nodes in one process keep a replicated counter. The leader takes increments, is stopped, a new
/// leader is elected, takes more increments, and the two surviving nodes agree on the value.
/// </summary>
public static class Program
{
    // Every wait in this sample is bounded: a cluster that cannot make progress fails instead of hanging.
    private static readonly TimeSpan WaitMax = TimeSpan.FromSeconds(20);

    public static Task<int> Main() => RunAsync(Console.Out);

    /// <summary>Runs the whole scenario, printing to <paramref name="output"/>; returns 0 on success, 1 on failure.</summary>
    public static async Task<int> RunAsync(TextWriter output)
    {
        ulong[] ids = [1, 2, 3];
        // One network object connects all nodes in this process; each node gets its own transport from it.
        var network = new InMemoryNetwork();
        var nodes = new Dictionary<ulong, (TypedRaftHost<long, long> Host, Counter Counter)>();
        foreach (var id in ids)
        {
            var counter = new Counter();
            var options = new RaftHostOptions
            {
                // Timeouts are counted in ticks: a node starts an election after 10-20 silent ticks.
                Raft = new RaftConfig { Id = id, Voters = ids, ElectionTimeoutTicks = 10 },
                // 10 ms ticks make this demo fast; across real machines the default (100 ms) is safer.
                TickInterval = TimeSpan.FromMilliseconds(10),
            };
            // MemoryStorage keeps the log in memory: fine for a demo, lost on exit. Use the WAL for durability.
            // The host proposes longs and returns longs: the codec turns a command into an entry's bytes and back.
            var host = new TypedRaftHost<long, long>(options, new MemoryStorage(), counter, Int64Codec.Instance, network.TransportFor(id));
            host.Start();
            nodes[id] = (host, counter);
        }
        try
        {
            var leader = await WaitForLeaderAsync(nodes.Values.Select(n => n.Host));
            output.WriteLine($"node {leader.Id} is the leader");
            // Only the leader accepts proposals; each completes once a majority stored it and it was applied.
            for (var n = 1; n <= 5; n++) output.WriteLine($"add {n} -> {await leader.ProposeAsync(n).AsTask().WaitAsync(WaitMax)}");

            // Stop the leader, as if its process crashed. Its entries are already on a majority, so none are lost.
            await leader.DisposeAsync();
            nodes.Remove(leader.Id);
            output.WriteLine($"stopped node {leader.Id}");
            var newLeader = await WaitForLeaderAsync(nodes.Values.Select(n => n.Host));
            output.WriteLine($"node {newLeader.Id} was elected leader");
            for (var n = 10; n <= 30; n += 10) output.WriteLine($"add {n} -> {await newLeader.ProposeAsync(n).AsTask().WaitAsync(WaitMax)}");

            // A linearizable read sees every acknowledged write, even on a follower: it runs after a read barrier.
            const long expected = 1 + 2 + 3 + 4 + 5 + 10 + 20 + 30;
            foreach (var (host, counter) in nodes.Values)
            {
                var value = await host.ReadAsync(() => counter.Value).AsTask().WaitAsync(WaitMax);
                output.WriteLine($"node {host.Id} has value {value}");
                if (value != expected) return Fail(output, $"node {host.Id} has {value}, not {expected}");
            }
            output.WriteLine($"final value {expected}: the surviving nodes agree");
            return 0;
        }
        catch (Exception e) when (e is TimeoutException or RaftHostException)
        {
            return Fail(output, e.Message); // e.g. NotLeaderException if leadership moved during a proposal
        }
        finally
        {
            foreach (var (host, _) in nodes.Values) await host.DisposeAsync();
        }
    }

    // Polls (never a fixed sleep) until exactly one of the hosts says it leads.
    private static async Task<TypedRaftHost<long, long>> WaitForLeaderAsync(IEnumerable<TypedRaftHost<long, long>> hosts)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < WaitMax)
        {
            var leaders = hosts.Where(h => h.Status?.Role == RaftRole.Leader).ToArray();
            if (leaders.Length == 1) return leaders[0];
            await Task.Delay(10);
        }
        throw new TimeoutException($"no single leader within {WaitMax.TotalSeconds} s");
    }

    private static int Fail(TextWriter output, string message)
    {
        output.WriteLine($"FAILED: {message}");
        return 1;
    }
}

/// <summary>
/// The replicated state: one number. A command is "add N"; its result is the new value. Apply must be deterministic
/// (same commands, same results on every node). The host calls Apply, CaptureSnapshot and Restore on its own thread,
/// one at a time; Value is read on other threads, so it is read and written atomically.
/// </summary>
public sealed class Counter : IStateMachine<long, long>
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public long Apply(long command, ulong index) => Interlocked.Add(ref _value, command);

    // A new leader's empty entry needs nothing here: ApplyNoOp keeps its default (do nothing).

    // Snapshots let the log be compacted; this one is the value as 8 bytes.
    public IStateMachineSnapshot CaptureSnapshot() => new ValueSnapshot(Value);

    public void Restore(Stream source)
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        source.ReadExactly(bytes);
        Interlocked.Exchange(ref _value, BinaryPrimitives.ReadInt64LittleEndian(bytes));
    }

    // Holds the value as of the capture; the host writes it on another thread while Apply goes on.
    private sealed class ValueSnapshot(long value) : IStateMachineSnapshot
    {
        public long SizeHintBytes => sizeof(long);

        public void WriteTo(Stream destination)
        {
            Span<byte> bytes = stackalloc byte[sizeof(long)];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            destination.Write(bytes);
        }
    }
}

/// <summary>A command is a number as 8 bytes, little-endian (the same on every machine).</summary>
public sealed class Int64Codec : ICommandCodec<long>
{
    public static Int64Codec Instance { get; } = new();

    public void Encode(long value, IBufferWriter<byte> destination)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination.GetSpan(sizeof(long)), value);
        destination.Advance(sizeof(long));
    }

    // Anything but exactly 8 bytes was not written by Encode: throwing makes every node skip the entry alike.
    public long Decode(ReadOnlySpan<byte> source) => source.Length == sizeof(long)
        ? BinaryPrimitives.ReadInt64LittleEndian(source)
        : throw new FormatException($"a command is 8 bytes, not {source.Length}");
}
