using dotnet_etcd;
using Etcdserverpb;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>State-machine safety end to end (paper section 5.4.3): every member applies the same history.</summary>
public sealed class ReplicaConsistencyTests
{
    [Fact]
    public async Task RandomWorkload_WithALeaderKillInTheMiddle_HashKvIsEqualOnAllMembers()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var random = new Random(42);
        var acknowledged = new Dictionary<string, string>();
        async Task Workload(int count)
        {
            using var client = new EtcdClient(string.Join(",", cluster.Members.Where(m => m.IsRunning).Select(m => m.ClientUrl)));
            for (var i = 0; i < count; i++)
            {
                var key = $"rw/{random.Next(20)}";
                var value = $"v{i}-{random.Next(1000)}";
                try
                {
                    if (random.Next(5) == 0) await client.DeleteAsync(key);
                    else await client.PutAsync(key, value);
                    if (random.Next(5) != 0) acknowledged[key] = value;
                    else acknowledged.Remove(key);
                }
                catch (RpcException)
                {
                    // Unavailable during the election: the write may or may not have happened; forget the key.
                    acknowledged.Remove(key);
                }
            }
        }
        await Workload(150);
        var leader = await cluster.WaitForLeaderAsync();
        leader.Kill();
        await cluster.WaitForLeaderAsync();
        await Workload(150);
        leader.Start();
        await cluster.WaitForLeaderAsync();

        // Hash every member at the same revision once all have applied it.
        using var any = new EtcdClient(string.Join(",", cluster.Members.Select(m => m.ClientUrl)));
        var revision = (await any.PutAsync("rw/final", "x")).Header.Revision;
        var hashes = await Poll.UntilAsync(async () =>
        {
            var results = new List<HashKVResponse>();
            foreach (var m in cluster.Members)
            {
                using var c = new EtcdClient(m.ClientUrl);
                try
                {
                    results.Add(await c.HashKVAsync(new HashKVRequest { Revision = revision }));
                }
                catch (RpcException)
                {
                    return null;
                }
            }
            return results.All(r => r.Header.Revision >= revision) ? results : null;
        }, TimeSpan.FromSeconds(30), "every member applying the final write", cluster.Diagnostics);
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        Assert.NotEqual(0U, hashes[0].Hash);
    }
}
