using System.Diagnostics;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests.Leases;

/// <summary>
/// Lease checkpoints on a real 3-member cluster (etcd's LeaseCheckpoint, the lease issue's "remaining TTL is
/// checkpointed through the log so a long lease does not restart from full TTL on every leader change"): with the
/// leader killed (kill -9) every third of the TTL, a lease without checkpoints would restart at its full TTL at each
/// new leader and never expire; with them, each new leader counts down from the last checkpoint, and the lease's key
/// vanishes on every member within a bound after the TTL, and never before it.
/// </summary>
public sealed class LeaseCheckpointProcessTests(ITestOutputHelper output)
{
    // Long enough that a killed member restarted at once is serving again before the next kill even on a loaded CI
    // machine (a restart there has taken 8 s), so every kill leaves a quorum.
    private const long TtlSeconds = 30;
    private static readonly TimeSpan KillEvery = TimeSpan.FromSeconds(TtlSeconds / 3.0);

    // Each leader change loses at most an election, one checkpoint interval and the rounding up of the remaining TTL
    // (about 3 s here), so each 10 s between kills still counts down at least 7 s: 5 cycles is the worst case.
    private static readonly TimeSpan ExpiryBound = TimeSpan.FromSeconds(TtlSeconds * 3);

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task ALeaseExpiresWithinABoundAfterItsTtlThoughTheLeaderIsKilledEveryThirdOfIt()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members)
        {
            m.ExtraArgs = [.. m.ExtraArgs.Select(a => a == "debug" ? "info" : a), "--experimental-lease-checkpoint-interval", "1s"];
            m.Start();
        }

        var leader = await cluster.WaitForLeaderAsync();
        var clients = cluster.Members.ToDictionary(m => m.Name, m => new EtcdClient(m.ClientUrl));
        try
        {
            var clock = Stopwatch.StartNew();
            var grant = await clients[leader.Name].LeaseGrantAsync(new LeaseGrantRequest { TTL = TtlSeconds });
            await clients[leader.Name].PutAsync(new PutRequest { Key = B("ckpt/k"), Value = B("1"), Lease = grant.ID });
            var gone = new Dictionary<string, TimeSpan>();
            var kills = 0;
            var nextKill = KillEvery;
            var lastKillAt = TimeSpan.Zero;
            while (gone.Count < cluster.Members.Count && clock.Elapsed < ExpiryBound)
            {
                if (clock.Elapsed >= nextKill)
                {
                    lastKillAt = clock.Elapsed;
                    nextKill = lastKillAt + KillEvery;
                    leader = await KillAndRestartLeaderAsync(cluster, leader);
                    kills++;
                    if (kills == 1)
                    {
                        // The new leader counts down from the checkpoint, not from the full TTL, and says so.
                        var ttl = await clients[leader.Name].LeaseTimeToLiveAsync(new LeaseTimeToLiveRequest { ID = grant.ID });
                        output.WriteLine($"after the first kill at {clock.Elapsed}: TTL {ttl.TTL} of {ttl.GrantedTTL}");
                        Assert.Equal(TtlSeconds, ttl.GrantedTTL);
                        Assert.InRange(ttl.TTL, 0, TtlSeconds - 5);
                    }
                }

                foreach (var member in cluster.Members.Where(m => m.IsRunning && !gone.ContainsKey(m.Name)))
                {
                    try
                    {
                        var kvs = (await clients[member.Name].GetAsync(new RangeRequest { Key = B("ckpt/k"), Serializable = true })).Kvs;
                        if (kvs.Count == 0) gone[member.Name] = clock.Elapsed;
                    }
                    catch (Grpc.Core.RpcException)
                    {
                        // restarting
                    }
                }

                await Task.Delay(200);
            }

            output.WriteLine($"{kills} leader kills; gone at {string.Join(", ", gone.Select(g => $"{g.Key} {g.Value}"))}");
            Assert.True(gone.Count == cluster.Members.Count,
                $"after {clock.Elapsed} and {kills} leader kills the key of a {TtlSeconds} s lease is still on {cluster.Members.Count - gone.Count} members\n{cluster.Diagnostics()}");
            Assert.True(kills >= 2, $"only {kills} leader kills happened before the lease expired");
            Assert.All(gone.Values, at => Assert.True(at >= TimeSpan.FromSeconds(TtlSeconds), $"gone after {at}, before the {TtlSeconds} s TTL"));

            // Without checkpoints the last leader, promoted after the last kill, would have counted the full TTL.
            Assert.All(gone.Values, at => Assert.True(at < lastKillAt + TimeSpan.FromSeconds(TtlSeconds),
                $"gone after {at}: a full TTL after the last kill at {lastKillAt}, as if the countdown had restarted"));
        }
        finally
        {
            foreach (var client in clients.Values) client.Dispose();
        }
    }

    // kill -9 of the leader, a new leader among the two left, then at once a restart of the killed one (so the next
    // kill still leaves a quorum). The caller does not wait for the restarted member: its start-up time (seconds on a
    // loaded machine) must not delay the schedule of kills.
    private static async Task<MemberProcess> KillAndRestartLeaderAsync(ProcessCluster cluster, MemberProcess leader)
    {
        leader.Kill();
        var next = await cluster.WaitForLeaderAsync(also: s => s.Name != leader.Name);
        leader.Start();
        return next;
    }
}
