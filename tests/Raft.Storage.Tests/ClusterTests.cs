using System.Text;
using RaftKv.Raft.Storage.Tests.Support;
using Xunit.Abstractions;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// Three real <see cref="RaftNode"/>s, each on a <see cref="DurableStorage"/> in its own directory, driven
/// deterministically (seeded randomness, an in-memory message queue) in the order <see cref="Ready"/> prescribes.
/// A crash drops the node and its storage instance; a restart reopens the storage from disk.
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output)
{
    private static readonly StorageOptions Options = new()
    {
        SegmentSizeBytes = 16 * 1024,
        MaxRecordSizeBytes = 4096,
        WriteBufferSizeBytes = 16 * 1024,
        SnapshotsToRetain = 1,
    };

    /// <summary>One node: its storage, its Raft state machine and a tiny application state machine (index to command).</summary>
    private sealed class Node(ulong id, string directory)
    {
        public ulong Id { get; } = id;
        public string Directory { get; } = directory;
        public DurableStorage? Storage { get; set; }
        public RaftNode? Raft { get; set; }
        public SortedDictionary<ulong, string> Applied { get; } = [];
        public ulong AppliedIndex { get; set; }
        public bool IsUp => Raft is not null;
    }

    private sealed class Cluster(TempDirectory dir, int seed, ITestOutputHelper output)
    {
        private readonly Random _random = new(seed);
        private readonly List<Message> _inFlight = [];

        public Node[] Nodes { get; } = [new(1, dir.Sub("n1")), new(2, dir.Sub("n2")), new(3, dir.Sub("n3"))];

        /// <summary>Every entry seen committed anywhere (index to command): all nodes must agree with it forever.</summary>
        public Dictionary<ulong, string> Committed { get; } = [];

        public int SnapshotsSent { get; private set; }

        public int SnapshotsInstalled { get; private set; }

        public Node? Leader => Nodes.Where(n => n.Raft?.Role == RaftRole.Leader).MaxBy(n => n.Raft!.Term);

        public void Start(Node node)
        {
            node.Storage = DurableStorage.Open(node.Directory, Options);
            node.Applied.Clear();
            node.AppliedIndex = 0;
            if (node.Storage.Snapshot is { } snap) RestoreStateMachine(node, snap);
            // The state machine is not persisted: AppliedIndex 0, it is rebuilt from the snapshot and the log.
            node.Raft = new RaftNode(new RaftConfig { Id = node.Id, Voters = [1, 2, 3] }, node.Storage, new Random(_random.Next()));
        }

        public void Crash(Node node)
        {
            node.Raft = null;
            node.Storage?.Dispose();
            node.Storage = null;
            output.WriteLine($"crash {node.Id}");
        }

        public void Restart(Node node)
        {
            Start(node);
            output.WriteLine($"restart {node.Id}: term {node.Raft!.Term}, last {node.Raft.LastIndex}, commit {node.Raft.CommitIndex}, first {node.Storage!.FirstIndex}");
        }

        public void Tick()
        {
            foreach (var node in Nodes) node.Raft?.Tick();
            Settle();
        }

        public bool RunUntil(Func<bool> condition, int maxTicks)
        {
            for (var i = 0; i < maxTicks && !condition(); i++) Tick();
            return condition();
        }

        /// <summary>Handles Readies and delivers messages until nothing moves.</summary>
        private void Settle()
        {
            for (var round = 0; round < 500; round++)
            {
                var moved = false;
                foreach (var node in Nodes) moved |= HandleReady(node);
                if (_inFlight.Count == 0)
                {
                    if (!moved) return;
                    continue;
                }
                var batch = _inFlight.ToList();
                _inFlight.Clear();
                foreach (var m in batch)
                {
                    var to = Nodes[m.To - 1];
                    if (to.Raft is null || _random.NextDouble() < 0.02) continue; // down, or a lost message
                    to.Raft.Step(m);
                    if (m.Type == MessageType.Snapshot)
                    {
                        SnapshotsSent++;
                        Nodes[m.From - 1].Raft?.ReportSnapshot(m.To, success: true);
                    }
                }
            }
            throw new InvalidOperationException("the cluster did not settle");
        }

        private bool HandleReady(Node node)
        {
            if (node.Raft is not { HasReady: true } raft) return false;
            var rd = raft.GetReady();
            // 1. Persist (snapshot, entries, hard state; one sync). 2. Send. 3. Apply. 4. Advance.
            node.Storage!.Save(rd);
            _inFlight.AddRange(rd.Messages);
            if (rd.Snapshot is { } snap)
            {
                RestoreStateMachine(node, snap);
                SnapshotsInstalled++;
            }
            foreach (var e in rd.CommittedEntries)
            {
                Assert.Equal(node.AppliedIndex + 1, e.Index);
                node.AppliedIndex = e.Index;
                if (e.Data.IsEmpty) continue; // a leader's no-op
                var command = Encoding.UTF8.GetString(e.Data.Span);
                node.Applied[e.Index] = command;
                if (Committed.TryGetValue(e.Index, out var other))
                    Assert.True(other == command, $"node {node.Id} applied '{command}' at {e.Index}, another node '{other}' (state machine safety, paper section 5.4.3)");
                else
                    Committed[e.Index] = command;
            }
            raft.Advance();
            return true;
        }

        /// <summary>Takes a snapshot of the applied state on <paramref name="node"/> and compacts its log (paper section 7).</summary>
        public void Compact(Node node)
        {
            var data = Encoding.UTF8.GetBytes(string.Join("\n", node.Applied.Select(kv => $"{kv.Key}={kv.Value}")));
            node.Storage!.CreateSnapshot(node.AppliedIndex, node.Raft!.Membership, data);
            output.WriteLine($"node {node.Id} snapshot at {node.AppliedIndex}, log now starts at {node.Storage.FirstIndex}, {node.Storage.SegmentPaths.Count} segments");
        }

        private static void RestoreStateMachine(Node node, Snapshot snap)
        {
            node.Applied.Clear();
            var text = Encoding.UTF8.GetString(snap.Data.Span);
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                node.Applied[ulong.Parse(line.AsSpan(0, eq), System.Globalization.CultureInfo.InvariantCulture)] = line[(eq + 1)..];
            }
            node.AppliedIndex = snap.Index;
        }

        public int Propose(int count, string prefix)
        {
            var accepted = 0;
            for (var i = 0; i < count; i++)
            {
                var leader = Leader;
                if (leader is null)
                {
                    Tick();
                    continue;
                }
                if (leader.Raft!.Propose(Encoding.UTF8.GetBytes($"{prefix}-{i}-{new string('x', _random.Next(0, 300))}")).IsAccepted) accepted++;
                if (i % 3 == 0) Tick();
                else Settle();
            }
            return accepted;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_cluster_on_durable_storage_survives_crashes_snapshots_and_a_full_restart(int seed)
    {
        using var dir = new TempDirectory("cluster");
        var c = new Cluster(dir, seed, output);
        try
        {
            foreach (var n in c.Nodes) c.Start(n);
            Assert.True(c.RunUntil(() => c.Leader is not null, 300), "no leader was elected (paper section 5.2)");
            c.Propose(30, "a");
            Assert.True(c.RunUntil(() => c.Committed.Count >= 25, 200), $"only {c.Committed.Count} entries committed");

            // A follower goes down; the others commit more and compact their logs past what it has.
            var lagging = c.Nodes.First(n => n != c.Leader);
            c.Crash(lagging);
            c.Propose(60, "b");
            Assert.True(c.RunUntil(() => c.Committed.Count >= 75, 200), $"only {c.Committed.Count} entries committed with one node down");
            foreach (var n in c.Nodes.Where(n => n.IsUp)) c.Compact(n);

            // It comes back from disk and can only catch up through a snapshot.
            c.Restart(lagging);
            var target = c.Leader!.Raft!.CommitIndex;
            Assert.True(c.RunUntil(() => lagging.AppliedIndex >= target, 300), $"the restarted node applied {lagging.AppliedIndex}, target {target}");
            Assert.True(c.SnapshotsInstalled >= 1, "the lagging node should have installed a snapshot");

            // The leader crashes; a new one is elected and commits more.
            var oldLeader = c.Leader!;
            c.Crash(oldLeader);
            Assert.True(c.RunUntil(() => c.Leader is not null, 300), "no new leader after the old one crashed");
            c.Propose(20, "c");
            c.Restart(oldLeader);
            var committedBefore = c.Committed.Count;
            Assert.True(c.RunUntil(() => c.Nodes.All(n => n.AppliedIndex == c.Leader?.Raft!.CommitIndex), 300), "nodes did not converge");

            // Everyone restarts from disk: every committed entry is still there, identical, on every node.
            foreach (var n in c.Nodes) c.Crash(n);
            foreach (var n in c.Nodes)
            {
                using var storage = DurableStorage.Open(n.Directory, Options);
                Assert.Null(storage.Recovery.TornTail);
                var entries = new List<Entry>();
                if (storage.HardState.Commit >= storage.FirstIndex)
                    Assert.Equal(LogLookup.Ok, storage.GetEntries(storage.FirstIndex, storage.HardState.Commit + 1, long.MaxValue, entries));
                foreach (var e in entries.Where(e => !e.Data.IsEmpty))
                    Assert.Equal(c.Committed[e.Index], Encoding.UTF8.GetString(e.Data.Span));
                var snapshotState = storage.Snapshot is null ? string.Empty : Encoding.UTF8.GetString(storage.Snapshot.Data.Span);
                foreach (var (index, command) in c.Committed.Where(kv => kv.Key <= storage.FirstIndex - 1))
                    Assert.Contains($"{index}={command}", snapshotState);
            }
            foreach (var n in c.Nodes) c.Restart(n);
            Assert.True(c.RunUntil(() => c.Leader is not null, 300), "no leader after restarting everyone from disk");
            c.Propose(5, "d");
            var final = c.Leader!.Raft!.CommitIndex;
            Assert.True(c.RunUntil(() => c.Nodes.All(n => n.AppliedIndex >= final), 300), "nodes did not apply everything after the full restart");
            foreach (var n in c.Nodes)
            {
                foreach (var (index, command) in c.Committed.Where(kv => kv.Key <= final))
                    Assert.True(n.Applied.TryGetValue(index, out var mine) && mine == command, $"node {n.Id} lost or changed committed entry {index}");
            }
            Assert.True(c.Committed.Count >= committedBefore);
            output.WriteLine($"seed {seed}: {c.Committed.Count} commands committed, {c.SnapshotsSent} snapshot messages, final commit {final}");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"seed {seed}: {e.Message}", e);
        }
        finally
        {
            foreach (var n in c.Nodes) n.Storage?.Dispose();
        }
    }
}
