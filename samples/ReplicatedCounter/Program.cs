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
        var nodes = new Dictionary<ulong, (RaftHost Host, Counter Counter)>();
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
            var host = new RaftHost(options, new MemoryStorage(), counter, network.TransportFor(id));
            host.Start();
            nodes[id] = (host, counter);
        }
        try
        {
            var leader = await WaitForLeaderAsync(nodes.Values.Select(n => n.Host));
            output.WriteLine($"node {leader.Id} is the leader");
            // Only the leader accepts proposals; each completes once a majority stored it and it was applied.
            for (var n = 1; n <= 5; n++) output.WriteLine($"add {n} -> {await AddAsync(leader, n)}");

            // Stop the leader, as if its process crashed. Its entries are already on a majority, so none are lost.
            await leader.DisposeAsync();
            nodes.Remove(leader.Id);
            output.WriteLine($"stopped node {leader.Id}");
            var newLeader = await WaitForLeaderAsync(nodes.Values.Select(n => n.Host));
            output.WriteLine($"node {newLeader.Id} was elected leader");
            for (var n = 10; n <= 30; n += 10) output.WriteLine($"add {n} -> {await AddAsync(newLeader, n)}");

            // A read barrier makes a node's state include every acknowledged write, even on a follower.
            const long expected = 1 + 2 + 3 + 4 + 5 + 10 + 20 + 30;
            foreach (var (host, counter) in nodes.Values)
            {
                await host.ReadBarrierAsync().AsTask().WaitAsync(WaitMax);
                output.WriteLine($"node {host.Id} has value {counter.Value}");
                if (counter.Value != expected) return Fail(output, $"node {host.Id} has {counter.Value}, not {expected}");
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

    // A command is "add N" as 8 bytes. The host returns what Counter.Apply returned (boxed, hence the cast).
    private static async Task<long> AddAsync(RaftHost leader, long amount) =>
        (long)(await leader.ProposeAsync(Counter.Encode(amount)).AsTask().WaitAsync(WaitMax))!;

    // Polls (never a fixed sleep) until exactly one of the hosts says it leads.
    private static async Task<RaftHost> WaitForLeaderAsync(IEnumerable<RaftHost> hosts)
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
/// The replicated state: one number. Apply must be deterministic (same entries, same result on every node).
/// The host calls Apply, CaptureSnapshot and Restore on its own thread, one at a time; Value is read elsewhere.
/// </summary>
public sealed class Counter : IStateMachine
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public object? Apply(in Entry entry)
    {
        if (entry.Data.IsEmpty) return null; // a new leader's empty entry: nothing to apply
        return Interlocked.Add(ref _value, BinaryPrimitives.ReadInt64LittleEndian(entry.Data.Span));
    }

    // Snapshots let the log be compacted; this one is the value as 8 bytes.
    public IStateMachineSnapshot CaptureSnapshot() => new ValueSnapshot(Value);

    public void Restore(ReadOnlyMemory<byte> snapshot) =>
        Interlocked.Exchange(ref _value, BinaryPrimitives.ReadInt64LittleEndian(snapshot.Span));

    /// <summary>Commands and snapshots are both a number as 8 bytes, little-endian (the same on every machine).</summary>
    public static byte[] Encode(long number)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, number);
        return bytes;
    }

    // Holds the value as of the capture; the host writes it on another thread while Apply goes on.
    private sealed class ValueSnapshot(long value) : IStateMachineSnapshot
    {
        public long SizeHintBytes => 8;

        public void WriteTo(Stream destination) => destination.Write(Encode(value));
    }
}
