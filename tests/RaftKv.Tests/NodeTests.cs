using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>raftkv members as real processes on loopback: elections and failures (paper section 5.2).</summary>
public sealed class NodeTests
{
    [Fact]
    public async Task ThreeMembers_ElectExactlyOneLeader()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var statuses = await Task.WhenAll(cluster.Members.Select(m => m.TryStatusAsync()));
        Assert.Single(statuses, s => s!.Role == "leader");
        Assert.Equal(2, statuses.Count(s => s!.Role == "follower"));
        Assert.Single(statuses.Select(s => s!.Term).Distinct());
        Assert.Single(statuses.Select(s => s!.ClusterId).Distinct());
        var (code, body) = await cluster.Members[0].GetAsync("/health");
        Assert.Equal(200, code);
        Assert.Contains("\"health\":\"true\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillLeader_ANewLeaderIsElected_AndTheKilledMemberRejoins()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        var term = (await leader.TryStatusAsync())!.Term;
        leader.Kill();
        var next = await cluster.WaitForLeaderAsync(also: s => s.Term > term);
        Assert.NotEqual(leader.Name, next.Name);

        leader.Start();
        var commit = (await next.TryStatusAsync())!.Commit;
        await Poll.UntilAsync(async () => (await leader.TryStatusAsync()) is { Role: "follower" } s && s.Applied >= commit,
            ProcessCluster.ElectionBound, "the restarted member catching up", cluster.Diagnostics);
        Assert.Contains(leader.Output, l => l.Contains("log ends at", StringComparison.Ordinal) && l.Contains("started in", StringComparison.Ordinal) && l.Contains("store ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task KillMajority_NoLeader_BringOneBack_ProgressResumes()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var survivor = cluster.Members[0];
        cluster.Members[1].Kill();
        cluster.Members[2].Kill();
        // CheckQuorum: a leader alone steps down; a follower alone cannot win.
        await Poll.UntilAsync(async () => (await survivor.TryStatusAsync()) is { Leader: "" },
            ProcessCluster.ElectionBound, "the survivor knowing no leader", cluster.Diagnostics);
        var (code, body) = await survivor.GetAsync("/health");
        Assert.Equal(503, code);
        Assert.Contains("RAFT NO LEADER", body, StringComparison.Ordinal); // etcd 3.5's reason

        cluster.Members[1].Start();
        await cluster.WaitForLeaderAsync();
        Assert.Equal(200, (await survivor.GetAsync("/health")).Status);
    }

    [Fact]
    public async Task PauseLeader_LongerThanTheElectionTimeout_ClusterStaysAvailable_AndTheOldLeaderStepsDown()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var leader = await cluster.WaitForLeaderAsync();
        var term = (await leader.TryStatusAsync())!.Term;
        leader.Pause();
        try
        {
            var others = cluster.Members.Where(m => m != leader).ToArray();
            await Poll.UntilAsync(async () =>
            {
                var s = await Task.WhenAll(others.Select(o => o.TryStatusAsync()));
                return s.All(x => x is not null && x.Term > term && x.Leader != "" && x.Leader == s[0]!.Leader);
            }, ProcessCluster.ElectionBound, "the others electing a new leader", cluster.Diagnostics);
        }
        finally
        {
            leader.Resume();
        }
        var newLeader = await cluster.WaitForLeaderAsync(also: s => s.Term > term);
        Assert.NotEqual(leader.Name, newLeader.Name);
        Assert.Equal("follower", (await leader.TryStatusAsync())!.Role);
    }
}
