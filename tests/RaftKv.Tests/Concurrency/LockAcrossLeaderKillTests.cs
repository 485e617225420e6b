using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Concurrency;

/// <summary>
/// The test: one lock held in turn by two contenders while the Raft leader is killed (kill -9) and later
/// restarted; the intervals in which each held it never overlap. One contender is etcdctl lock (clientv3's mutex
/// over transactions and watches), the other dotnet-etcd's Lock (the server-side service); both use the same owner
/// keys, so they contend for the same lock. Hold intervals are wall-clock times read by each holder while holding.
/// </summary>
public sealed partial class LockAcrossLeaderKillTests
{
    private const string LockName = "killlock";

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [GeneratedRegex("^(start|end) (\\d+)$")]
    private static partial Regex Stamp();

    private static long NowNs() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    [EtcdctlFact]
    public async Task TwoContendersNeverHoldTheLockAtOnce_AcrossALeaderKillAndRestart()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var holds = new ConcurrentQueue<(string Who, long StartNs, long EndNs)>();
        using var stop = new CancellationTokenSource();
        var ctl = Task.Run(() => EtcdctlContenderAsync(cluster.ClientEndpoints, holds, stop.Token));
        var net = Task.Run(() => ServiceContenderAsync(string.Join(",", cluster.Members.Select(m => m.ClientUrl)), holds, stop.Token));
        async Task HoldsReachAsync(int count, string when) =>
            await Poll.UntilAsync(() => Task.FromResult(holds.Count >= count), Bound, $"{count} holds {when}", cluster.Diagnostics);

        await HoldsReachAsync(4, "before the kill");
        var leader = await cluster.WaitForLeaderAsync();
        leader.Kill();
        await cluster.WaitForLeaderAsync(also: s => s.Name != leader.Name);
        await HoldsReachAsync(holds.Count + 4, "after the kill");
        leader.Start();
        await cluster.WaitForLeaderAsync();
        await HoldsReachAsync(holds.Count + 4, "after the restart");
        await stop.CancelAsync();
        await Task.WhenAll(ctl, net).WaitAsync(Bound);

        var ordered = holds.OrderBy(h => h.StartNs).ToArray();
        Assert.Contains(ordered, h => h.Who == "etcdctl");
        Assert.Contains(ordered, h => h.Who == "service");
        for (var i = 1; i < ordered.Length; i++)
        {
            Assert.True(ordered[i].StartNs >= ordered[i - 1].EndNs,
                $"{ordered[i].Who} took the lock at {ordered[i].StartNs} while {ordered[i - 1].Who} held it until {ordered[i - 1].EndNs}");
        }
    }

    // etcdctl lock with a command that stamps its start and end; a run that failed (the leader was killed under it)
    // still counts if its command ran.
    private static async Task EtcdctlContenderAsync(string endpoints, ConcurrentQueue<(string, long, long)> holds, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var (_, output) = await ExternalTools.RunAsync("etcdctl",
                ["--endpoints=" + endpoints, "lock", LockName, "--", "sh", "-c", "echo start $(date +%s%N); sleep 0.1; echo end $(date +%s%N)"],
                Bound, environment: new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
            var stamps = output.Split('\n').Select(l => Stamp().Match(l.Trim())).Where(m => m.Success)
                .ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            if (stamps.TryGetValue("start", out var start)) holds.Enqueue(("etcdctl", start, stamps.GetValueOrDefault("end", long.MaxValue)));
        }
    }

    // The server-side Lock with a fresh lease per round, revoked afterwards (which also drops a key left by a call
    // that failed when its member died).
    private static async Task ServiceContenderAsync(string urls, ConcurrentQueue<(string, long, long)> holds, CancellationToken stop)
    {
        using var client = new EtcdClient(urls);
        while (!stop.IsCancellationRequested)
        {
            long lease = 0;
            try
            {
                lease = (await client.LeaseGrantAsync(new LeaseGrantRequest { TTL = 10 }, cancellationToken: stop)).ID;
                var held = await client.LockAsync(LockName, lease, deadline: DateTime.UtcNow.AddSeconds(20), cancellationToken: stop);
                var start = NowNs();
                await Task.Delay(100, CancellationToken.None); // the work done while holding
                holds.Enqueue(("service", start, NowNs()));
                await client.UnlockAsync(held.Key.ToStringUtf8(), cancellationToken: CancellationToken.None);
            }
            catch (RpcException)
            {
                // the member died under the call, or no leader yet: try again
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                if (lease != 0)
                {
                    try
                    {
                        await client.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: DateTime.UtcNow.AddSeconds(10));
                    }
                    catch (RpcException)
                    {
                        // expires by itself
                    }
                }
            }
        }
    }
}
