using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Cluster;

/// <summary>
/// Membership changes on real processes (thesis chapter 4; etcd's learner design): a cluster grows from 3 to 5 through
/// a learner that catches up and is promoted, a member is replaced the way etcd's robustness tests do it (remove, kill,
/// wipe, add, start with existing), and the cluster shrinks back to 3, all while clients write; afterwards every
/// acknowledged write is on every member, the members' HashKV agree, and a register read and written throughout has a
/// linearizable history.
/// </summary>
public sealed class MembershipProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task GrowToFive_ReplaceAMember_ShrinkToThree_UnderWrites_NothingAcknowledgedIsLost()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var acknowledged = new ConcurrentDictionary<string, string>();
        using var stopWriting = new CancellationTokenSource();
        var writer = WriteAsync(cluster, acknowledged, stopWriting.Token);
        // A register beside them, read linearizably and written by three clients through any running member.
        var register = KvTraffic.RunAsync(() => [.. cluster.Members.Where(m => m.IsRunning).Select(m => m.ClientUrl)], ["register"], 3, 500, TrafficMix.GetPut, stopWriting.Token);

        // Grow: D as a learner (it never counts toward a quorum while it catches up), promoted once in sync.
        var d = cluster.AddMember("D");
        var added = await AddAsync(cluster, d, learner: true);
        Assert.True(added.Member.IsLearner);
        Assert.Equal([d.PeerUrl], added.Member.PeerURLs);
        Assert.Equal(4, added.Members.Count);
        d.Start();
        await PromoteWhenReadyAsync(cluster, added.Member.ID);

        // E straight in as a voter (etcd's strict check: the started voters still form a quorum of five).
        var e = cluster.AddMember("E");
        var addedE = await AddAsync(cluster, e, learner: false);
        Assert.False(addedE.Member.IsLearner);
        e.Start();
        var five = await WaitForMembersAsync(cluster, 5, m => m.Members.All(x => x.Name.Length > 0 && !x.IsLearner));
        Assert.Equal(["A", "B", "C", "D", "E"], five.Members.Select(m => m.Name).Order());
        Assert.All(five.Members, m => Assert.Single(m.ClientURLs));

        // Replace B: remove it (it stops by itself), wipe its directory, add it back under a new id and URL.
        var b = cluster.Members.Single(m => m.Name == "B");
        var bId = five.Members.Single(m => m.Name == "B").ID;
        await RemoveAsync(cluster, b, bId);
        var b2 = cluster.AddMember("B2");
        var addedB2 = await AddAsync(cluster, b2, learner: false);
        Assert.NotEqual(bId, addedB2.Member.ID);
        b2.Start();
        await WaitForMembersAsync(cluster, 5, m => m.Members.Any(x => x.Name == "B2"));

        // Shrink back to three, the leader first (it hands leadership over before it goes), then a follower.
        var leader = await cluster.WaitForLeaderAsync();
        var table = await ListAsync(cluster.Members.First(m => m != leader));
        await RemoveAsync(cluster, leader, table.Members.Single(m => m.Name == leader.Name).ID);
        leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Members.First(m => m != leader);
        table = await ListAsync(leader);
        await RemoveAsync(cluster, follower, table.Members.Single(m => m.Name == follower.Name).ID);
        var three = await WaitForMembersAsync(cluster, 3, _ => true);
        output.WriteLine($"final members: {string.Join(", ", three.Members.Select(m => m.Name))}");

        await stopWriting.CancelAsync();
        var writes = await writer;
        output.WriteLine($"{writes} writes acknowledged during the changes");
        Assert.True(writes > 0, "no write was acknowledged during the membership changes");
        var history = await register;
        output.WriteLine($"register: {history.Count} operations, {history.Count(o => !o.IsCompleted)} writes of unknown outcome");
        Assert.True(history.Count(o => !o.Input.IsWrite) > 10, "too few register reads succeeded to check anything");
        var report = RaftKv.Robustness.Checking.KvHistoryChecker.Check(history);
        Assert.True(report.Passed, report.Describe());

        // Every acknowledged write is on every remaining member, and their states agree (paper section 5.4.3).
        using var last = GrpcChannel.ForAddress(cluster.Members[0].ClientUrl);
        var put = await new KV.KVClient(last).PutAsync(new PutRequest { Key = B("final"), Value = B("1") }, deadline: DateTime.UtcNow.AddSeconds(10));
        await Poll.UntilAsync(async () =>
        {
            var hashes = new List<uint>();
            foreach (var m in cluster.Members)
            {
                using var channel = GrpcChannel.ForAddress(m.ClientUrl);
                var hash = await new Maintenance.MaintenanceClient(channel).HashKVAsync(new HashKVRequest { Revision = put.Header.Revision }, deadline: DateTime.UtcNow.AddSeconds(5));
                hashes.Add(hash.Hash);
            }
            return hashes.Distinct().Count() == 1;
        }, Bound, "equal HashKV on the three members", cluster.Diagnostics);
        foreach (var m in cluster.Members)
        {
            using var channel = GrpcChannel.ForAddress(m.ClientUrl);
            var kvs = (await new KV.KVClient(channel).RangeAsync(new RangeRequest { Key = B("w/"), RangeEnd = B("w0"), Serializable = true },
                deadline: DateTime.UtcNow.AddSeconds(10))).Kvs.ToDictionary(kv => kv.Key.ToStringUtf8(), kv => kv.Value.ToStringUtf8());
            foreach (var (key, value) in acknowledged) Assert.True(kvs.TryGetValue(key, out var held) && held == value, $"{m.Name} lacks acknowledged {key}={value}");
        }
    }

    [Fact]
    public async Task AMemberThatWasRemoved_RefusesToStartAgainWithItsOldData()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        var victim = cluster.Members.First(m => m != leader);
        var table = await ListAsync(leader);
        await RemoveAsync(cluster, victim, table.Members.Single(m => m.Name == victim.Name).ID);

        victim.Start();
        var code = await victim.WaitForExitAsync(Bound);
        Assert.Equal(1, code);
        Assert.Contains(victim.Output, line => line.Contains("has been removed from the cluster", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AMemberStartedWithExistingBeforeItWasAdded_SaysSoAndStops()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var stranger = cluster.AddMember("D");
        stranger.Start();
        var code = await stranger.WaitForExitAsync(Bound);
        Assert.Equal(1, code);
        Assert.Contains(stranger.Output, line => line.Contains("has no member with peer URL", StringComparison.Ordinal) && line.Contains("member add", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithAutoPromotion_ALearnerBecomesAVoterOnceInSync_WithoutAnOperator()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members)
        {
            m.ExtraArgs = [.. m.ExtraArgs, "--auto-promote-learners"];
            m.Start();
        }
        await cluster.WaitForLeaderAsync();
        var d = cluster.AddMember("D");
        d.ExtraArgs = [.. d.ExtraArgs, "--auto-promote-learners"];
        var added = await AddAsync(cluster, d, learner: true);
        Assert.True(added.Member.IsLearner);
        // Not started, it cannot be in sync: it stays a learner (and the cluster keeps its quorum of three).
        var listed = await ListAsync(cluster.Members[0]);
        Assert.True(listed.Members.Single(m => m.ID == added.Member.ID).IsLearner);
        d.Start();
        var promoted = await WaitForMembersAsync(cluster, 4, l => l.Members.All(m => !m.IsLearner && m.Name.Length > 0));
        Assert.Contains(promoted.Members, m => m.Name == "D");
    }

    private static async Task<MemberAddResponse> AddAsync(ProcessCluster cluster, MemberProcess member, bool learner)
    {
        // Through a follower, so the request is handed to the leader.
        var leader = await cluster.WaitForLeaderAsync();
        var via = cluster.Members.First(m => m.IsRunning && m != leader);
        using var channel = GrpcChannel.ForAddress(via.ClientUrl);
        return await new RaftKv.Etcd.Api.Cluster.ClusterClient(channel).MemberAddAsync(new MemberAddRequest { PeerURLs = { member.PeerUrl }, IsLearner = learner },
            deadline: DateTime.UtcNow.AddSeconds(15));
    }

    private static async Task RemoveAsync(ProcessCluster cluster, MemberProcess member, ulong id)
    {
        var via = cluster.Members.First(m => m.IsRunning && m != member);
        using var channel = GrpcChannel.ForAddress(via.ClientUrl);
        MemberRemoveResponse reply;
        try
        {
            reply = await new RaftKv.Etcd.Api.Cluster.ClusterClient(channel).MemberRemoveAsync(new MemberRemoveRequest { ID = id }, deadline: DateTime.UtcNow.AddSeconds(15));
        }
        catch (RpcException e)
        {
            throw new InvalidOperationException($"removing {member.Name} through {via.Name}: {e.Status}\n{cluster.Diagnostics()}", e);
        }
        Assert.DoesNotContain(reply.Members, m => m.ID == id);
        // A removed member learns it (from the log or from its peers) and stops by itself.
        var code = await member.WaitForExitAsync(Bound);
        Assert.True(code is not null, $"{member.Name} did not stop after its removal\n{member.OutputTail()}");
        cluster.Drop(member);
    }

    private static async Task PromoteWhenReadyAsync(ProcessCluster cluster, ulong id)
    {
        await Poll.UntilAsync(async () =>
        {
            var leader = await cluster.WaitForLeaderAsync();
            using var channel = GrpcChannel.ForAddress(leader.ClientUrl);
            try
            {
                await new RaftKv.Etcd.Api.Cluster.ClusterClient(channel).MemberPromoteAsync(new MemberPromoteRequest { ID = id }, deadline: DateTime.UtcNow.AddSeconds(10));
                return true;
            }
            catch (RpcException e) when (e.Status.Detail.Contains("in sync with leader", StringComparison.Ordinal))
            {
                return false; // etcd's rule: not before it has caught up
            }
        }, Bound, "the learner promoted once in sync", cluster.Diagnostics);
    }

    private static async Task<MemberListResponse> ListAsync(MemberProcess via)
    {
        using var channel = GrpcChannel.ForAddress(via.ClientUrl);
        return await new RaftKv.Etcd.Api.Cluster.ClusterClient(channel).MemberListAsync(new MemberListRequest { Linearizable = true }, deadline: DateTime.UtcNow.AddSeconds(10));
    }

    // Until every listed member reports `count` members that satisfy `also`.
    private static Task<MemberListResponse> WaitForMembersAsync(ProcessCluster cluster, int count, Func<MemberListResponse, bool> also) =>
        Poll.UntilAsync(async () =>
        {
            MemberListResponse? last = null;
            foreach (var m in cluster.Members)
            {
                try
                {
                    last = await ListAsync(m);
                }
                catch (RpcException)
                {
                    return null;
                }
                if (last.Members.Count != count || !also(last)) return null;
            }
            return last;
        }, Bound, $"{count} members on every member's list", cluster.Diagnostics);

    // Puts w/<n> through whichever running member answers; an acknowledged put is recorded, a failed one is not.
    private static async Task<int> WriteAsync(ProcessCluster cluster, ConcurrentDictionary<string, string> acknowledged, CancellationToken stop)
    {
        var n = 0;
        while (!stop.IsCancellationRequested)
        {
            var targets = cluster.Members.Where(m => m.IsRunning).ToArray();
            if (targets.Length == 0)
            {
                await Task.Delay(50, CancellationToken.None);
                continue;
            }
            var target = targets[n % targets.Length];
            var key = $"w/{n:D6}";
            try
            {
                using var channel = GrpcChannel.ForAddress(target.ClientUrl);
                await new KV.KVClient(channel).PutAsync(new PutRequest { Key = B(key), Value = B(target.Name) }, deadline: DateTime.UtcNow.AddSeconds(5));
                acknowledged[key] = target.Name;
            }
            catch (RpcException)
            {
                // unknown outcome: not counted as acknowledged
            }
            n++;
            await Task.Delay(20, CancellationToken.None);
        }
        return acknowledged.Count;
    }
}
