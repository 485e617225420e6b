namespace RaftKv.Raft.Tests.Simulation;

/// <summary>Totals of one randomized run, for the soak report.</summary>
public readonly record struct ScenarioStats(int Nodes, long Ticks, long Messages, long Checks, int Acknowledged, int Reads, int Faults);

/// <summary>
/// One randomized run: a cluster of 3, 5 or 7 nodes under crashes (also in the middle of a Ready), restarts,
/// partitions, message loss, duplication and delay, with client writes, linearizable reads, compactions and
/// leadership transfers; then every fault is healed and the cluster must converge. Fully determined by the seed.
/// </summary>
public static class RandomScenario
{
    public const int FaultTicks = 500;
    public const int RecoveryTicksMax = 2000;

    public static ScenarioStats Run(long seed, bool echo = false)
    {
        var rng = new Random(unchecked((int)seed * 7919 + 17));
        int[] sizes = [3, 3, 5, 5, 7];
        var n = sizes[rng.Next(sizes.Length)];
        var preVote = rng.Next(4) != 0;
        var checkQuorum = rng.Next(4) != 0;
        long[] msgSizes = [64, 1024, 1024 * 1024];
        var maxMsg = msgSizes[rng.Next(msgSizes.Length)];
        int[] inflights = [1, 4, 256];
        var maxInflight = inflights[rng.Next(inflights.Length)];
        var tickAdvance = preVote && rng.Next(2) == 0;
        var cluster = new Cluster(n, seed, c => c with
        {
            PreVote = preVote, CheckQuorum = checkQuorum, MaxSizePerMsgBytes = maxMsg, MaxInflightMsgs = maxInflight,
            InitialElectionTickAdvance = tickAdvance ? c.ElectionTimeoutTicks - 1 : 0,
        });
        cluster.Trace.Echo = echo;
        double[] drops = [0, 0.01, 0.05, 0.2];
        cluster.Network.DropRate = drops[rng.Next(drops.Length)];
        cluster.Network.DuplicateRate = rng.Next(3) == 0 ? 0.02 : 0;
        cluster.Network.MaxDelayTicks = rng.Next(3);
        cluster.Network.ReorderWithinLink = rng.Next(4) == 0;
        cluster.Trace.Add(0, $"scenario: {n} nodes, preVote={preVote}, tickAdvance={tickAdvance}, checkQuorum={checkQuorum}, maxMsg={maxMsg}, inflight={maxInflight}, " +
            $"drop={cluster.Network.DropRate}, dup={cluster.Network.DuplicateRate}, delay<={cluster.Network.MaxDelayTicks}, reorder={cluster.Network.ReorderWithinLink}");

        var faults = 0;
        var writes = 0;
        SimNode RandomNode() => cluster.Nodes[rng.Next(n)];
        for (var tick = 0; tick < FaultTicks; tick++)
        {
            var p = rng.NextDouble();
            if (p < 0.02) { cluster.Crash(RandomNode().Id); faults++; }
            else if (p < 0.07) cluster.Restart(RandomNode().Id);
            else if (p < 0.08) { cluster.CrashDuringNextReady(RandomNode().Id, rng.Next(2) == 0 ? CrashPoint.BeforePersist : CrashPoint.AfterPersist); faults++; }
            else if (p < 0.10) { RandomPartition(cluster, rng); faults++; }
            else if (p < 0.11) { cluster.Isolate(RandomNode().Id); faults++; }
            else if (p < 0.14) cluster.Heal();

            if (rng.NextDouble() < 0.3)
            {
                var target = rng.Next(3) == 0 ? RandomNode() : cluster.Leader;
                if (target is not null) cluster.Propose($"w{writes++}", target);
            }
            if (rng.NextDouble() < 0.1 && RandomNode() is { IsUp: true } reader) cluster.Read(reader);
            if (rng.NextDouble() < 0.02) cluster.Compact(RandomNode().Id);
            if (rng.NextDouble() < 0.005 && cluster.Leader?.Raft is { } leaderRaft) leaderRaft.TransferLeadership(RandomNode().Id);
            cluster.Tick();
        }

        // Recovery: no more faults; the cluster must elect, commit a new write and converge everywhere.
        cluster.StopFaults();
        foreach (var node in cluster.Nodes) cluster.Restart(node.Id);
        var final = $"final-{seed}";
        var waited = 0;
        cluster.MustRunUntil(() =>
        {
            if (cluster.Acknowledged.ContainsKey(final)) return true;
            // A leader change can drop a proposal; propose again now and then until one is acknowledged.
            if (waited++ % 20 == 0) cluster.Propose(final);
            return false;
        }, RecoveryTicksMax, "a final write being acknowledged after healing");
        cluster.MustRunUntil(() =>
        {
            var target = cluster.Nodes[0].AppliedIndex;
            return cluster.Nodes.All(x => x.Applied.Contains(final)) && cluster.Nodes.All(x => x.AppliedIndex == target);
        }, RecoveryTicksMax, "every node applying the same history");

        var hash = cluster.Nodes[0].AppliedHash;
        foreach (var node in cluster.Nodes)
        {
            if (node.AppliedHash != hash) cluster.Fail($"{node.Name} applied a different history (hash) than {cluster.Nodes[0].Name}");
            foreach (var (value, _) in cluster.Acknowledged)
            {
                if (!node.Applied.Contains(value)) cluster.Fail($"acknowledged write '{value}' is missing on {node.Name}");
            }
        }
        return new ScenarioStats(n, cluster.Now, cluster.Network.Delivered, cluster.Checker.Checks, cluster.Acknowledged.Count, cluster.ReadsAnswered, faults);
    }

    private static void RandomPartition(Cluster cluster, Random rng)
    {
        var ids = cluster.Ids.OrderBy(_ => rng.Next()).ToArray();
        var cut = rng.Next(1, ids.Length);
        cluster.Partition(ids[..cut], ids[cut..]);
    }
}
