using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using RaftKv.Raft.Hosting;
using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>
/// Raft.Testing runs an application's own <see cref="IStateMachine"/> under the simulator (issue 17): crashes,
/// restarts, partitions and log compaction from a seed, then every server's state machine must hold the same state,
/// with every acknowledged write in it (thesis section 3.6.3: state machine safety).
/// </summary>
public sealed class ApplicationStateMachineSimulationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void UnderCrashesPartitionsAndCompaction_EveryServersStateMachineEndsEqual_WithEveryAcknowledgedWrite(long seed)
    {
        var cluster = new Cluster(3, seed, stateMachines: _ => new SetMachine());
        var rng = new Random((int)seed);
        var writes = 0;
        for (var tick = 0; tick < 400; tick++)
        {
            var p = rng.NextDouble();
            if (p < 0.02) cluster.Crash(cluster.Nodes[rng.Next(3)].Id);
            else if (p < 0.06) cluster.Restart(cluster.Nodes[rng.Next(3)].Id);
            else if (p < 0.08) cluster.Isolate(cluster.Nodes[rng.Next(3)].Id);
            else if (p < 0.11) cluster.Heal();
            if (rng.NextDouble() < 0.3) cluster.Propose($"w{writes++}");
            if (rng.NextDouble() < 0.03) cluster.Compact(cluster.Nodes[rng.Next(3)].Id);
            cluster.Tick();
        }
        cluster.Heal();
        foreach (var node in cluster.Nodes.Where(n => !n.IsUp)) cluster.Restart(node.Id);
        cluster.WaitForLeader();
        cluster.Propose("final");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("final")
            && cluster.Nodes.All(n => n.AppliedIndex == cluster.Leader!.Raft!.CommitIndex), 2000, "every server to apply the final write");

        var states = cluster.Nodes.Select(n => ((SetMachine)n.StateMachine!).Commands).ToArray();
        Assert.All(states, s => Assert.Equal(states[0], s));
        Assert.All(cluster.Acknowledged.Keys, k => Assert.Contains(k, states[0]));
        Assert.True(states[0].Count > 10, $"only {states[0].Count} writes committed");
    }

    [Fact]
    public void ATypedStateMachine_RunsUnderTheSimulatorThroughStateMachinesUntyped_AndSurvivesALeaderCrash()
    {
        var sums = new Dictionary<ulong, Sum>();
        var cluster = new Cluster(3, seed: 11, stateMachines: id => StateMachines.Untyped(sums[id] = new Sum(), new TextCodec()));
        var leader = cluster.WaitForLeader();
        cluster.Propose("5");
        cluster.Propose("7");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("7"), 200, "the writes to be acknowledged");
        cluster.Crash(leader.Id);
        cluster.WaitForLeader();
        cluster.Propose("30");
        cluster.MustRunUntil(() => cluster.Acknowledged.ContainsKey("30"), 500, "a write under the new leader");
        cluster.Restart(leader.Id);
        cluster.MustRunUntil(() => sums.Values.All(s => s.Value == 42), 500, "every server, the restarted one too, to reach 42");
    }

    /// <summary>A typed machine: the sum of the numbers proposed.</summary>
    private sealed class Sum : IStateMachine<long, long>
    {
        public long Value { get; private set; }

        public long Apply(long command, ulong index) => Value += command;

        public IStateMachineSnapshot CaptureSnapshot() => new Lines([Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        public void Restore(Stream source) => Value = long.Parse(new StreamReader(source).ReadToEnd(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Commands as decimal text, as the simulator proposes them.</summary>
    private sealed class TextCodec : ICommandCodec<long>
    {
        public void Encode(long value, IBufferWriter<byte> destination) =>
            destination.Write(Encoding.UTF8.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        public long Decode(ReadOnlySpan<byte> source) => long.Parse(Encoding.UTF8.GetString(source), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The application under test: the set of commands applied, snapshotted as lines of text.</summary>
    private sealed class SetMachine : IStateMachine
    {
        public ImmutableSortedSet<string> Commands { get; private set; } = [];

        public object? Apply(in Entry entry)
        {
            if (entry.Type == EntryType.Normal && !entry.Data.IsEmpty) Commands = Commands.Add(Encoding.UTF8.GetString(entry.Data.Span));
            return null;
        }

        public IStateMachineSnapshot CaptureSnapshot() => new Lines(Commands);

        public void Restore(ReadOnlyMemory<byte> snapshot) =>
            Commands = [.. Encoding.UTF8.GetString(snapshot.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    /// <summary>A snapshot as lines of text.</summary>
    private sealed class Lines(IEnumerable<string> commands) : IStateMachineSnapshot
    {
        public long SizeHintBytes => 0;

        public void WriteTo(Stream destination) => destination.Write(Encoding.UTF8.GetBytes(string.Join('\n', commands)));
    }
}
