namespace RaftKv.Raft.Testing;

/// <summary>Totals of one randomized run, for the soak report.</summary>
public readonly record struct ScenarioStats(int Nodes, long Ticks, long Messages, long Checks, int Acknowledged, int Reads, int Faults, int ConfChanges);

/// <summary>
/// One randomized run: a cluster of 3, 5 or 7 nodes under crashes (also in the middle of a Ready), restarts,
/// partitions, message loss, duplication and delay, with client writes, linearizable reads, compactions and
/// leadership transfers, and random configuration changes (thesis chapter 4: learners added, promoted and removed,
/// voters added and removed, joint changes left automatically or explicitly) among three spare servers; then every
/// fault is healed and the configuration's members must converge. Fully determined by the seed.
/// </summary>
public static class RandomScenario
{
    /// <summary>Ticks of random faults (crashes, partitions, drops, membership changes) before the recovery phase.</summary>
    public const int FaultTicks = 500;
    /// <summary>Most ticks the recovery phase may take to bring every acknowledged write to every member.</summary>
    public const int RecoveryTicksMax = 2000;
    /// <summary>Servers outside the initial configuration, for membership changes to add.</summary>
    public const int Spares = 3;

    /// <summary>Runs one random scenario from <paramref name="seed"/>; throws <see cref="SimulationFailure"/> (with the seed and trace) when a check fails. <paramref name="echo"/> prints the trace as it goes.</summary>
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
        }, spares: Spares);
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
        var confChanges = 0;
        var used = new HashSet<ulong>(cluster.InitialVoters); // a removed server never comes back (ids are not reused)
        SimNode RandomNode() => cluster.Nodes[rng.Next(cluster.Nodes.Count)];
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
            if (rng.NextDouble() < 0.04 && cluster.Leader is { } changer && RandomChange(cluster, changer.Raft!.Membership, used, rng) is { } change)
            {
                if (cluster.ProposeConfChange(change, changer).IsAccepted)
                {
                    confChanges++;
                    foreach (var c in change.Changes) used.Add(c.NodeId);
                }
            }
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
        // Every member of the configuration in force (voters and learners) converges; removed servers need not.
        cluster.MustRunUntil(() =>
        {
            var members = cluster.Members.ToArray();
            var target = members[0].AppliedIndex;
            return members.All(x => x.Applied.Contains(final)) && members.All(x => x.AppliedIndex == target);
        }, RecoveryTicksMax, "every member applying the same history");

        var first = cluster.Members.First();
        var hash = first.AppliedHash;
        foreach (var node in cluster.Members)
        {
            if (node.AppliedHash != hash) cluster.Fail($"{node.Name} applied a different history (hash) than {first.Name}");
            foreach (var (value, _) in cluster.Acknowledged)
            {
                if (!node.Applied.Contains(value)) cluster.Fail($"acknowledged write '{value}' is missing on {node.Name}");
            }
        }
        return new ScenarioStats(n, cluster.Now, cluster.Network.Delivered, cluster.Checker.Checks, cluster.Acknowledged.Count, cluster.ReadsAnswered, faults, confChanges);
    }

    /// <summary>
    /// A random change the leader may accept: add a spare as learner or voter, promote a learner, remove a member
    /// (keeping two voters), two of these at once (joint consensus), or leave a joint configuration explicitly.
    /// Null when the chosen kind does not apply now.
    /// </summary>
    private static ConfChange? RandomChange(Cluster cluster, ConfState conf, HashSet<ulong> used, Random rng)
    {
        if (conf.IsJoint) return conf.AutoLeave && rng.Next(4) != 0 ? null : ConfChange.LeaveJoint;
        var spares = cluster.Ids.Where(id => !used.Contains(id)).ToArray();
        ConfChangeSingle? One()
        {
            switch (rng.Next(4))
            {
                case 0 when spares.Length > 0: return new(ConfChangeType.AddLearner, spares[rng.Next(spares.Length)]);
                case 1 when conf.Learners.Count > 0: return new(ConfChangeType.PromoteLearner, conf.Learners[rng.Next(conf.Learners.Count)]);
                case 2 when spares.Length > 0 && rng.Next(3) == 0: return new(ConfChangeType.AddVoter, spares[rng.Next(spares.Length)]);
                case 3:
                    var members = conf.AllIds().ToArray();
                    var victim = members[rng.Next(members.Length)];
                    if (conf.IsVoter(victim) && conf.Voters.Count <= 2) return null;
                    return new(ConfChangeType.Remove, victim);
                default: return null;
            }
        }
        if (rng.Next(3) != 0) return One() is { } single ? new ConfChange([single]) : null;
        // Joint consensus: two changes of different nodes, left automatically or explicitly.
        if (One() is not { } a || One() is not { } b || a.NodeId == b.NodeId) return null;
        ConfChangeTransition[] transitions = [ConfChangeTransition.Auto, ConfChangeTransition.JointImplicit, ConfChangeTransition.JointExplicit];
        var change = new ConfChange([a, b], transitions[rng.Next(transitions.Length)]);
        // Two removals could leave fewer than two voters; TryApply refuses what cannot apply at all.
        return change.TryApply(conf, out var next, out _) && next.Voters.Count >= 2 ? change : null;
    }

    private static void RandomPartition(Cluster cluster, Random rng)
    {
        var ids = cluster.Ids.OrderBy(_ => rng.Next()).ToArray();
        var cut = rng.Next(1, ids.Length);
        cluster.Partition(ids[..cut], ids[cut..]);
    }
}
