using RaftKv.Raft.Testing;

namespace RaftKv.Raft.Tests;

/// <summary>Log replication and commitment, paper sections 5.3 and 5.4.</summary>
public sealed class ReplicationTests
{
    private static bool AllApplied(Cluster cluster, params string[] values) =>
        cluster.Nodes.Where(n => n.IsUp).All(n => values.All(n.Applied.Contains));

    [Fact]
    public void BasicAgreement_EveryNodeAppliesTheSameEntriesInOrder()
    {
        // Section 5.3: the leader appends, replicates, commits on a majority and everyone applies in log order.
        var cluster = new Cluster(5, seed: 11);
        cluster.WaitForLeader();
        var values = Enumerable.Range(0, 20).Select(i => $"v{i}").ToArray();
        foreach (var v in values)
        {
            Assert.True(cluster.Propose(v).IsAccepted);
            cluster.Tick();
        }
        cluster.MustRunUntil(() => AllApplied(cluster, values), 100, "all nodes applying all values");
        Assert.All(cluster.Nodes, n => Assert.Equal(values, n.Applied));
        Assert.Equal(values.Length, cluster.Acknowledged.Count);
    }

    [Fact]
    public void AgreementDespiteFollowerDisconnection_TheFollowerCatchesUpAfterReconnecting()
    {
        // Section 5.3: a leader retries AppendEntries indefinitely; a returning follower gets every entry.
        var cluster = new Cluster(3, seed: 12);
        var leader = cluster.WaitForLeader();
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);
        cluster.Isolate(follower.Id);
        for (var i = 0; i < 10; i++) cluster.Propose($"w{i}");
        cluster.MustRunUntil(() => leader.Applied.Count == 10, 50, "the majority committing without the follower");
        Assert.Empty(follower.Applied);

        cluster.Heal();
        cluster.MustRunUntil(() => follower.Applied.Count == 10, 100, "the follower catching up");
        Assert.Equal(leader.Applied, follower.Applied);
    }

    [Fact]
    public void NoAgreementWithoutAMajority_EntriesStayUncommitted()
    {
        // Section 5.3: an entry is committed only once a majority stores it.
        var cluster = new Cluster(5, seed: 13);
        var leader = cluster.WaitForLeader();
        var followers = cluster.Nodes.Where(n => n.Id != leader.Id).ToArray();
        foreach (var f in followers.Take(3)) cluster.Crash(f.Id);
        var commitBefore = leader.Raft!.CommitIndex;
        var result = cluster.Propose("lonely");
        Assert.True(result.IsAccepted);
        cluster.RunTicks(8); // less than an election timeout: still leader, cannot commit
        Assert.Equal(commitBefore, leader.Raft.CommitIndex);
        Assert.DoesNotContain("lonely", leader.Applied);

        foreach (var f in followers.Take(3)) cluster.Restart(f.Id);
        cluster.WaitForLeader();
        cluster.Propose("after");
        cluster.MustRunUntil(() => AllApplied(cluster, "after"), 200, "progress after the majority returns");
    }

    [Fact]
    public void ConcurrentProposals_AllCommitInOneOrderEverywhere()
    {
        var cluster = new Cluster(3, seed: 14);
        var leader = cluster.WaitForLeader();
        var values = Enumerable.Range(0, 200).Select(i => $"c{i}").ToArray();
        // Many proposals between two Readies: they share append messages.
        foreach (var v in values) Assert.True(cluster.Propose(v).IsAccepted);
        cluster.MustRunUntil(() => AllApplied(cluster, values), 100, "all concurrent proposals applied");
        Assert.All(cluster.Nodes, n => Assert.Equal(leader.Applied, n.Applied));
    }

    [Fact]
    public void BatchProposal_AssignsConsecutiveIndexes()
    {
        var cluster = new Cluster(3, seed: 15);
        var leader = cluster.WaitForLeader();
        var batch = new ReadOnlyMemory<byte>[] { "a"u8.ToArray(), "b"u8.ToArray(), "c"u8.ToArray() };
        var result = leader.Raft!.Propose(batch);
        Assert.True(result.IsAccepted);
        Assert.Equal(leader.Raft.LastIndex - 2, result.FirstIndex);
        cluster.MustRunUntil(() => AllApplied(cluster, "a", "b", "c"), 50, "batch applied");
        Assert.All(cluster.Nodes, n => Assert.Equal(["a", "b", "c"], n.Applied));
    }

    [Fact]
    public void Proposal_OnFollower_IsRejectedWithTheLeaderHint()
    {
        var cluster = new Cluster(3, seed: 16);
        var leader = cluster.WaitForLeader();
        cluster.MustRunUntil(() => cluster.Nodes.All(n => n.Raft!.Lead == leader.Id), 50, "followers knowing the leader");
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);
        var result = follower.Raft!.Propose("x"u8.ToArray());
        Assert.Equal(ProposeStatus.NotLeader, result.Status);
        Assert.Equal(leader.Id, result.LeaderHint);
    }

    [Fact]
    public void RejoinOfPartitionedLeader_ItsUncommittedEntriesAreReplaced()
    {
        // Section 5.4: the old leader's uncommitted entries conflict with the new leader's log and are overwritten.
        var cluster = new Cluster(5, seed: 17);
        var old = cluster.WaitForLeader();
        cluster.Propose("committed");
        cluster.MustRunUntil(() => AllApplied(cluster, "committed"), 50, "first write applied");
        cluster.Isolate(old.Id);
        cluster.Propose("lost-1", old);
        cluster.Propose("lost-2", old);
        var rest = cluster.Nodes.Where(n => n.Id != old.Id).ToArray();
        cluster.MustRunUntil(() => rest.Any(n => n.Raft!.Role == RaftRole.Leader), 200, "a new leader among the majority");
        var fresh = cluster.Leader!;
        Assert.NotEqual(old.Id, fresh.Id);
        cluster.Propose("kept", fresh);
        cluster.MustRunUntil(() => fresh.Applied.Contains("kept"), 50, "new leader committing");

        cluster.Heal();
        cluster.MustRunUntil(() => AllApplied(cluster, "kept"), 200, "old leader catching up");
        Assert.All(cluster.Nodes, n => Assert.Equal(["committed", "kept"], n.Applied));
        Assert.Equal(fresh.Raft!.LastIndex, old.Raft!.LastIndex);
    }

    [Fact]
    public void FastBackup_OverManyConflictingEntries_TakesFewRoundTrips()
    {
        // Section 5.3 (end): with the conflicting term in the rejection, the leader skips a whole term per round
        // trip instead of one entry. 50 conflicting entries must take far fewer than 50 rejections.
        var cluster = new Cluster(5, seed: 18, c => c with { MaxSizePerMsgBytes = 64 });
        var old = cluster.WaitForLeader();
        var buddy = cluster.Nodes.First(n => n.Id != old.Id);
        cluster.Partition([old.Id, buddy.Id], cluster.Ids.Where(i => i != old.Id && i != buddy.Id).ToArray());
        for (var i = 0; i < 50; i++) cluster.Propose($"stale{i}", old);
        cluster.RunTicks(5);
        var others = cluster.Nodes.Where(n => n.Id != old.Id && n.Id != buddy.Id).ToArray();
        cluster.MustRunUntil(() => others.Any(n => n.Raft!.Role == RaftRole.Leader), 300, "majority electing");
        var fresh = others.First(n => n.Raft!.Role == RaftRole.Leader);
        for (var i = 0; i < 50; i++) cluster.Propose($"fresh{i}", fresh);
        cluster.MustRunUntil(() => fresh.Applied.Count == 50 + 0 && fresh.Applied.Contains("fresh49"), 200, "majority committing");

        var rejections = 0;
        cluster.Network.Filter = m =>
        {
            if (m.Type == MessageType.AppendResponse && m.Reject) rejections++;
            return true;
        };
        cluster.Heal();
        cluster.MustRunUntil(() => AllApplied(cluster, "fresh49"), 300, "old leader and buddy converging");
        Assert.All(cluster.Nodes, n => Assert.DoesNotContain("stale0", n.Applied));
        Assert.True(rejections <= 8, $"fast backtracking took {rejections} rejections for 50 conflicting entries");
    }

    [Fact]
    public void Figure8_ALeaderDoesNotCommitAnOldTermEntryByCountingReplicas()
    {
        // Section 5.4.2, figure 8. S1 leads term a and puts X at index 2 on S1, S2 only. S5 wins term b with the
        // votes of S3, S4 and writes Y at index 2 locally. S1 returns, wins term c and copies X to S3: X is now on a
        // majority, but S1 must not commit it, because S5 could still win and overwrite it with Y, which it does.
        var cluster = new Cluster(5, seed: 19, c => c with { ElectionTimeoutTicks = 1000, CheckQuorum = false, MaxSizePerMsgBytes = 1 });
        ulong s1 = 1, s2 = 2, s3 = 3, s4 = 4, s5 = 5;
        cluster.Node(s1).Raft!.Campaign();
        cluster.MustRunUntil(() => cluster.Node(s1).Raft!.Role == RaftRole.Leader && cluster.Nodes.All(n => n.Raft!.CommitIndex == 1), 20, "S1 leading with its no-op committed");

        // Term a: X reaches S2 only.
        var termA = cluster.Node(s1).Raft!.Term;
        cluster.Partition([s1, s2], [s3, s4, s5]);
        cluster.Propose("X", cluster.Node(s1));
        cluster.MustRunUntil(() => cluster.Node(s2).Storage.LastIndex == 2, 10, "X on S2");
        cluster.Crash(s1);

        // Term b: S5 wins with S3, S4; its no-op Y stays local.
        cluster.Partition([s2], [s3, s4, s5]);
        cluster.Network.Filter = m => !(m.From == s5 && m.Type == MessageType.Append && m.Entries.Count > 0);
        cluster.Node(s5).Raft!.Campaign();
        cluster.MustRunUntil(() => cluster.Node(s5).Raft!.Role == RaftRole.Leader && cluster.Node(s5).Storage.LastIndex == 2, 20, "S5 leading with Y at index 2");
        var termB = cluster.Node(s5).Raft!.Term;
        cluster.Crash(s5);

        // Term c: S1 returns and wins with S2, S3, then copies X (not its new no-op) to S3.
        cluster.Restart(s1);
        cluster.Partition([s1, s2, s3], [s4], [s5]);
        // Once S3 holds X it must not receive S1's term-c no-op at index 3 (S2 may: it is then on two of five).
        cluster.Network.Filter = m => !(m.From == s1 && m.To == s3 && m.Type == MessageType.Append && m.Entries.Any(e => e.Index >= 3)
            && cluster.Node(s3).Storage.TryGetTerm(2, out var t2) == LogLookup.Ok && t2 == termA);
        cluster.MustRunUntil(() => Campaigned(cluster, s1) && cluster.Node(s3).Storage.LastIndex == 2
            && cluster.Node(s3).Storage.TryGetTerm(2, out var t) == LogLookup.Ok && t == termA && termA < termB, 30, "X copied to S3");
        cluster.MustRunUntil(() => cluster.Node(s1).Raft!.GetStatus().Progress.Count(p => p.Match >= 2) >= 2, 20,
            "S1 knowing X is on S2 and S3");
        cluster.RunTicks(5);
        // X (term a) is on S1, S2, S3, a majority of five, and S1 knows it; yet it is not committed.
        Assert.Equal(1UL, cluster.Node(s1).Raft!.CommitIndex);
        cluster.Crash(s1);

        // S5 returns: its last term b beats X's term a, so it wins and overwrites X with Y everywhere.
        cluster.Network.Filter = null;
        cluster.Restart(s5);
        cluster.Partition([s2, s3, s4, s5], [s1]);
        cluster.MustRunUntil(() => Campaigned(cluster, s5), 30, "S5 winning again");
        cluster.Propose("Z", cluster.Node(s5));
        cluster.MustRunUntil(() => new[] { s2, s3, s4, s5 }.All(i => cluster.Node(i).Applied.Contains("Z")), 50, "Z applied on the majority");
        Assert.All(cluster.Nodes.Where(n => n.IsUp), n => Assert.DoesNotContain("X", n.Applied));
    }

    /// <summary>Makes the node campaign whenever it is not leader (a scripted stand-in for its election timer).</summary>
    private static bool Campaigned(Cluster cluster, ulong id)
    {
        var raft = cluster.Node(id).Raft!;
        if (raft.Role == RaftRole.Leader) return true;
        if (raft.Role == RaftRole.Follower) raft.Campaign();
        return false;
    }

    [Fact]
    public void UnreliableNetwork_DropsDuplicatesAndReordering_EverythingAcknowledgedIsApplied()
    {
        var cluster = new Cluster(5, seed: 20);
        cluster.Network.DropRate = 0.1;
        cluster.Network.DuplicateRate = 0.05;
        cluster.Network.MaxDelayTicks = 3;
        for (var i = 0; i < 100; i++)
        {
            cluster.Propose($"u{i}");
            cluster.Tick();
        }
        cluster.Network.DropRate = 0;
        cluster.Network.DuplicateRate = 0;
        var leader = cluster.WaitForLeader();
        cluster.Propose("final");
        cluster.MustRunUntil(() => AllApplied(cluster, "final"), 300, "convergence");
        Assert.True(cluster.Acknowledged.Count > 50, $"only {cluster.Acknowledged.Count} of 100 writes were acknowledged");
        Assert.All(cluster.Acknowledged.Keys, v => Assert.All(cluster.Nodes, n => Assert.Contains(v, n.Applied)));
        Assert.All(cluster.Nodes, n => Assert.Equal(leader.Applied, n.Applied));
    }

    [Fact]
    public void SlowAcknowledgements_WithAFullWindow_EntriesAreNotSentTwice()
    {
        // Section 5.3 with the thesis's pipelining (10.2.2): a follower that holds the entries but whose answers are
        // late must not be flooded with copies. With a full window the leader checks with an empty append.
        var cluster = new Cluster(3, seed: 22, c => c with { MaxInflightMsgs = 4 });
        var leader = cluster.WaitForLeader();
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);
        cluster.RunTicks(3);
        var entriesSent = 0;
        var holdAcks = true;
        cluster.Network.Filter = m =>
        {
            if (m.Type == MessageType.Append && m.To == follower.Id) entriesSent += m.Entries.Count;
            return !(holdAcks && m.Type == MessageType.AppendResponse && m.From == follower.Id);
        };
        for (var i = 0; i < 8; i++)
        {
            cluster.Propose($"p{i}");
            cluster.Tick();
        }
        cluster.RunTicks(5); // five heartbeat rounds with nothing acknowledged
        // The window's four entries went out once; the rest wait for room.
        Assert.Equal(4, entriesSent);
        Assert.Equal(leader.Raft!.GetStatus().LastIndex - 4, follower.Raft!.GetStatus().LastIndex);
        holdAcks = false;
        cluster.MustRunUntil(() => AllApplied(cluster, "p7"), 50, "the follower catching up once it answers");
        Assert.Equal(8, entriesSent);
    }

    [Fact]
    public void LostAppends_WithAFullWindow_TheLeaderRecovers()
    {
        // Every append that filled the window is lost: nothing would free it but the leader's check on heartbeat.
        var cluster = new Cluster(3, seed: 23, c => c with { MaxInflightMsgs = 2 });
        var leader = cluster.WaitForLeader();
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);
        var other = cluster.Nodes.First(n => n.Id != leader.Id && n.Id != follower.Id);
        cluster.RunTicks(3);
        var dropAppends = true;
        cluster.Network.Filter = m => !(dropAppends && m.Type == MessageType.Append && m.To == follower.Id && m.Entries.Count > 0);
        for (var i = 0; i < 6; i++) cluster.Propose($"l{i}");
        cluster.MustRunUntil(() => other.Applied.Contains("l5"), 50, "the majority committing");
        cluster.RunTicks(3);
        Assert.DoesNotContain("l0", follower.Applied);
        dropAppends = false;
        cluster.MustRunUntil(() => follower.Applied.Contains("l5"), 50, "the follower catching up");

        // The same when the entries were compacted meanwhile: the check finds them gone and sends the snapshot.
        dropAppends = true;
        for (var i = 0; i < 6; i++) cluster.Propose($"m{i}");
        cluster.MustRunUntil(() => other.Applied.Contains("m5"), 50, "the majority committing");
        cluster.Compact(leader.Id);
        dropAppends = false;
        cluster.MustRunUntil(() => follower.Applied.Contains("m5"), 50, "the follower restored from the snapshot");
        Assert.Equal(leader.Applied, follower.Applied);
    }

    [Fact]
    public void Snapshot_LaggingFollowerCatchesUpFromTheLeadersSnapshot()
    {
        // Section 7: entries the follower needs were compacted; the leader sends its snapshot instead.
        var cluster = new Cluster(3, seed: 21);
        var leader = cluster.WaitForLeader();
        var follower = cluster.Nodes.First(n => n.Id != leader.Id);
        cluster.Crash(follower.Id);
        for (var i = 0; i < 30; i++) cluster.Propose($"s{i}");
        cluster.MustRunUntil(() => leader.Applied.Count == 30, 50, "commit without the follower");
        foreach (var n in cluster.Nodes.Where(n => n.IsUp)) cluster.Compact(n.Id);
        Assert.True(leader.Storage.FirstIndex > 10);

        cluster.Restart(follower.Id);
        cluster.MustRunUntil(() => follower.Applied.Count == 30, 100, "follower restored from snapshot");
        Assert.Contains(cluster.Trace.Lines, l => l.Contains($"{follower.Name} restored snapshot", StringComparison.Ordinal));
        Assert.Equal(leader.Applied, follower.Applied);
        cluster.Propose("after-snapshot");
        cluster.MustRunUntil(() => follower.Applied.Contains("after-snapshot"), 50, "replication after the snapshot");
    }

    [Fact]
    public void UncommittedLimit_LeaderDropsProposalsItCannotCommit()
    {
        var cluster = new Cluster(3, seed: 22, c => c with { MaxUncommittedEntriesBytes = 100 });
        var leader = cluster.WaitForLeader();
        foreach (var n in cluster.Nodes.Where(n => n.Id != leader.Id)) cluster.Isolate(n.Id);
        Assert.True(cluster.Propose(new string('a', 60)).IsAccepted);
        Assert.Equal(ProposeStatus.TooManyUncommitted, cluster.Propose(new string('b', 60)).Status);
    }
}
