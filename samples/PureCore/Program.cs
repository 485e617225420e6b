using System.Text;
using RaftKv.Raft;

namespace RaftKv.Samples.PureCore;

/// <summary>
/// Three <see cref="RaftNode"/>s driven by hand, without RaftKv.Raft.Hosting: the loop every host writes (tick, step
/// messages, handle each Ready in order, advance), with messages passed through in-memory queues and time counted in
/// ticks. Single-threaded and seeded, so every run is the same.
/// </summary>
public static class Program
{
    // Bounds every loop: a cluster that cannot make progress fails instead of spinning.
    private const int MaxTicks = 1_000;

    /// <summary>Runs the sample, printing to the console.</summary>
    public static int Main() => Run(Console.Out);

    /// <summary>Elects a leader, commits "x=1" and returns 0 once all three nodes applied it; 1 otherwise.</summary>
    public static int Run(TextWriter output)
    {
        ulong[] ids = [1, 2, 3];
        var nodes = ids.ToDictionary(id => id, id => new Node(id, ids, seed: (int)id));
        // The "network": messages in flight, delivered at the next step. A real one may drop, delay or reorder them.
        var inFlight = new Queue<Message>();

        for (var tick = 0; tick < MaxTicks; tick++)
        {
            // 1. Time passes: each node counts one tick (elections and heartbeats are measured in ticks).
            foreach (var node in nodes.Values) node.Raft.Tick();
            // 2. Deliver what was sent; each delivery may produce a Ready, whose messages are delivered in turn.
            for (var round = 0; round < 100; round++)
            {
                foreach (var node in nodes.Values) node.HandleReady(inFlight, output);
                if (inFlight.Count == 0) break;
                for (var n = inFlight.Count; n > 0; n--)
                {
                    var m = inFlight.Dequeue();
                    nodes[m.To].Raft.Step(m);
                }
            }
            // 3. Once a leader is known, propose a command on it (only a leader accepts proposals).
            var leader = nodes.Values.FirstOrDefault(n => n.Raft.Role == RaftRole.Leader);
            if (leader is not null && !leader.Proposed)
            {
                var result = leader.Raft.Propose(Encoding.UTF8.GetBytes("x=1"));
                output.WriteLine($"tick {tick}: node {leader.Id} leads term {leader.Raft.Term}; proposed 'x=1' at index {result.FirstIndex}");
                leader.Proposed = true;
            }
            if (nodes.Values.All(n => n.Applied.Contains("x=1")))
            {
                output.WriteLine($"tick {tick}: 'x=1' is committed and applied on all {nodes.Count} nodes");
                return 0;
            }
        }
        output.WriteLine($"FAILED: 'x=1' was not applied everywhere within {MaxTicks} ticks");
        return 1;
    }

    /// <summary>One server: its Raft core, its storage and its state machine (the list of applied commands).</summary>
    private sealed class Node
    {
        public Node(ulong id, IReadOnlyList<ulong> voters, int seed)
        {
            Id = id;
            Raft = new RaftNode(new RaftConfig { Id = id, Voters = voters, ElectionTimeoutTicks = 10, HeartbeatTimeoutTicks = 1 }, Storage, new Random(seed));
        }

        public ulong Id { get; }

        // MemoryStorage stands in for a disk here; RaftKv.Raft.Storage's DurableStorage is the durable one.
        public MemoryStorage Storage { get; } = new();

        public RaftNode Raft { get; }

        public List<string> Applied { get; } = [];

        public bool Proposed { get; set; }

        /// <summary>The Ready loop, in the order the <see cref="Ready"/> contract requires.</summary>
        public void HandleReady(Queue<Message> network, TextWriter output)
        {
            while (Raft.HasReady)
            {
                var rd = Raft.GetReady();
                // a. A leader may send before persisting (its own log is one of the majority only once it is durable).
                if (rd.MessagesMayPrecedePersist) foreach (var m in rd.Messages) network.Enqueue(m);
                // b. Persist first: snapshot, entries, then term/vote/commit. With a disk, fsync when rd.MustSync.
                if (rd.Snapshot is { } snapshot) Storage.ApplySnapshot(snapshot);
                if (rd.Entries.Count > 0) Storage.Append(rd.Entries);
                if (rd.HardState is { } hard) Storage.SetHardState(hard);
                // c. Only then send: a vote or an acknowledgement must not reach a peer before it is on disk.
                if (!rd.MessagesMayPrecedePersist) foreach (var m in rd.Messages) network.Enqueue(m);
                // d. Apply what is committed, in order. Empty entries are a new leader's no-ops; configuration
                //    changes take effect when applied, through ApplyConfChange.
                foreach (var entry in rd.CommittedEntries)
                {
                    if (entry.Type == EntryType.ConfChange) Raft.ApplyConfChange(ConfChange.Decode(entry.Data.Span));
                    else if (!entry.Data.IsEmpty)
                    {
                        var command = Encoding.UTF8.GetString(entry.Data.Span);
                        Applied.Add(command);
                        output.WriteLine($"node {Id} applied '{command}' at index {entry.Index}");
                    }
                }
                foreach (var e in rd.Events) output.WriteLine($"  {e.Text}");
                // e. Tell the core all of it is done; only then may the next Ready be taken.
                Raft.Advance();
            }
        }
    }
}
