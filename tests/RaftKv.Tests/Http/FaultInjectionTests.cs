using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Http;

/// <summary>
/// Failures through the HTTP API, as the dashboard's buttons cause them: quorum loss (health 503), partition and
/// heal, pause, stop and restart; and fault injection refused unless the member allows it.
/// </summary>
[Collection(HttpCollection.Name)]
public sealed class FaultInjectionTests
{
    private static readonly TimeSpan Bound = ProcessCluster.ElectionBound;

    [Fact]
    public async Task Health_Is503WithTheReason_WithoutAQuorum_And200Again()
    {
        await using var cluster = await FaultCluster.StartAsync(allowFaults: false);
        var survivor = cluster.Members[0];
        var (ok, healthy, _) = await HttpJson.GetAsync($"{survivor.HttpUrl}/health");
        Assert.Equal(200, ok);
        Assert.Equal("true", healthy.Str("health"));
        cluster.Members[1].Kill();
        cluster.Members[2].Kill();
        await Poll.UntilAsync(async () => (await HttpJson.GetAsync($"{survivor.HttpUrl}/health")).Status == 503, Bound, "health turning 503", cluster.Diagnostics);
        var (code, body, _) = await HttpJson.GetAsync($"{survivor.HttpUrl}/health");
        Assert.Equal(503, code);
        Assert.Equal("false", body.Str("health"));
        Assert.Equal("RAFT NO LEADER", body.Str("reason")); // etcd 3.5's reason
        // Without a quorum, linearizable reads and writes fail with 503 and etcd's reason; serializable reads still work.
        var (readCode, read, _) = await HttpJson.GetAsync($"{survivor.HttpUrl}/v1/kv/anything");
        Assert.Equal(503, readCode);
        Assert.Contains("no leader", read.Str("error"), StringComparison.Ordinal);
        Assert.Equal(404, (await HttpJson.GetAsync($"{survivor.HttpUrl}/v1/kv/anything?consistency=serializable")).Status);
        // Fault injection is off for plain 'serve'.
        var (faultCode, fault, _) = await HttpJson.PostAsync($"{survivor.HttpUrl}/v1/fault/stop");
        Assert.Equal(403, faultCode);
        Assert.Contains("--allow-fault-injection", fault.Str("error"), StringComparison.Ordinal);

        cluster.Members[1].Start();
        await Poll.UntilAsync(async () => (await HttpJson.GetAsync($"{survivor.HttpUrl}/health")).Status == 200, Bound, "health turning 200", cluster.Diagnostics);
    }

    [Fact]
    public async Task PartitionTheLeader_OthersElectANewOne_HealAndItFollows()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var term = (await leader.TryStatusAsync())!.Term;
        var asker = cluster.Members.First(m => m != leader);
        var (code, reply, text) = await HttpJson.PostAsync($"{asker.HttpUrl}/v1/fault/partition?member={leader.Name}");
        Assert.True(code == 200, text);
        Assert.Equal(leader.Name, reply.Str("member"));

        var others = cluster.Members.Where(m => m != leader).ToArray();
        await Poll.UntilAsync(async () =>
        {
            var s = await Task.WhenAll(others.Select(o => o.TryStatusAsync()));
            return s.All(x => x is not null && x.Term > term && x.LeaderName != "" && x.LeaderName != leader.Name && x.Leader == s[0]!.Leader);
        }, Bound, "the others electing a new leader", cluster.Diagnostics);
        // Cut off, the old leader loses its quorum (CheckQuorum) and shows itself partitioned.
        await Poll.UntilAsync(async () => (await leader.TryStatusAsync()) is { Role: not "leader" }, Bound, "the old leader stepping down", cluster.Diagnostics);
        var (_, members, _) = await HttpJson.GetAsync($"{asker.HttpUrl}/v1/cluster");
        Assert.Contains(members.GetProperty("members").EnumerateArray(),
            m => m.Str("name") == leader.Name && m.GetProperty("view").GetProperty("partitioned").GetBoolean());
        var newLeader = (await others[0].TryStatusAsync())!.LeaderName;

        Assert.Equal(200, (await HttpJson.PostAsync($"{asker.HttpUrl}/v1/fault/heal?member={leader.Name}")).Status);
        var after = await cluster.WaitForLeaderAsync(also: s => s.Term > term);
        Assert.NotEqual(leader.Name, after.Name);
        Assert.Equal(newLeader, after.Name);
        Assert.Equal(200, (await HttpJson.PutAsync($"{leader.HttpUrl}/v1/kv/after-heal", "x")).Status);
    }

    [Fact]
    public async Task PauseAFollower_ItMissesHeartbeats_ThenResumesByItself()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Members.First(m => m != leader);
        var (code, reply, text) = await HttpJson.PostAsync($"{leader.HttpUrl}/v1/fault/pause?member={follower.Name}&ms=4000");
        Assert.True(code == 202, text);
        Assert.Contains("SIGSTOP", reply.Str("result"), StringComparison.Ordinal);
        await Poll.UntilAsync(async () => await follower.TryStatusAsync() is null, Bound, "the follower not answering while paused", cluster.Diagnostics);
        await Poll.UntilAsync(async () => await follower.TryStatusAsync() is { Role: "follower" }, Bound, "the follower answering again", cluster.Diagnostics);
        Assert.True(follower.IsRunning);
    }

    [Fact]
    public async Task StopTheLeader_ANewOneIsElected_RestartBringsTheStoppedMemberBack()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var term = (await leader.TryStatusAsync())!.Term;
        var asker = cluster.Members.First(m => m != leader);
        // The asker learns every member's command line while they run (needed to start a stopped one again).
        await HttpJson.GetAsync($"{asker.HttpUrl}/v1/cluster");

        var (code, _, text) = await HttpJson.PostAsync($"{asker.HttpUrl}/v1/fault/stop?member={leader.Name}");
        Assert.True(code == 202, text);
        await Poll.UntilAsync(() => Task.FromResult(!leader.IsRunning), Bound, "the leader's process exiting", cluster.Diagnostics);
        var next = await cluster.WaitForLeaderAsync(also: s => s.Term > term);
        Assert.NotEqual(leader.Name, next.Name);

        // Started again by the asker (the test's handle on the old process is gone: probe the HTTP port directly).
        var (restartCode, restart, restartText) = await HttpJson.PostAsync($"{asker.HttpUrl}/v1/fault/restart?member={leader.Name}");
        Assert.True(restartCode == 202, restartText);
        Assert.Contains("starting it again", restart.Str("result"), StringComparison.Ordinal);
        await Poll.UntilAsync(async () =>
        {
            var (s, status, _) = await HttpJson.GetAsync($"{leader.HttpUrl}/v1/status");
            return s == 200 && status.Str("role") == "follower" && status.Str("leaderName") == next.Name;
        }, Bound, "the stopped member back as a follower", cluster.Diagnostics);
        await StopRelaunchedAsync(leader);
    }

    [Fact]
    public async Task RestartARunningMember_ItComesBackWithANewProcess()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var member = cluster.Members[2];
        var (_, before, _) = await HttpJson.GetAsync($"{cluster.Members[0].HttpUrl}/v1/cluster");
        var oldPid = before.GetProperty("members")[2].GetProperty("view").Num("pid");
        var (code, _, text) = await HttpJson.PostAsync($"{cluster.Members[0].HttpUrl}/v1/fault/restart?member={member.Name}");
        Assert.True(code == 202, text);
        await Poll.UntilAsync(async () =>
        {
            var (s, cluster2, _) = await HttpJson.GetAsync($"{cluster.Members[0].HttpUrl}/v1/cluster");
            var entry = cluster2.GetProperty("members")[2];
            if (s != 200 || !entry.GetProperty("reachable").GetBoolean()) return false;
            var view = entry.GetProperty("view");
            return view.Num("pid") != oldPid && view.GetProperty("status") is { ValueKind: System.Text.Json.JsonValueKind.Object } status
                && status.Str("leaderName") != "";
        }, Bound, "the member restarted with a new process", cluster.Diagnostics);
        await StopRelaunchedAsync(member);
    }

    /// <summary>A relaunched member is not the test's child: stop it through its own API (it exits on kill -9).</summary>
    private static async Task StopRelaunchedAsync(MemberProcess member)
    {
        try
        {
            await HttpJson.PostAsync($"{member.HttpUrl}/v1/fault/stop");
        }
        catch (HttpRequestException)
        {
            // it may kill itself (-9) before its 202 is fully sent; the poll below checks that it is gone
        }
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await HttpJson.GetAsync($"{member.HttpUrl}/health");
                return false;
            }
            catch (HttpRequestException)
            {
                return true;
            }
        }, Bound, $"{member.Name} stopping");
    }
}
