using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RaftKv.Tests;

/// <summary>
/// State-machine safety end to end (paper section 5.4.3): every member applies the same history, and that history holds every
/// acknowledged write (Leader Completeness, section 5.4): equal hashes alone would not catch a write lost on every member.
/// </summary>
public sealed class ReplicaConsistencyTests(ITestOutputHelper output)
{
    private const int KeyCount = 20;

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task RandomWorkload_WithALeaderKillInTheMiddle_HashKvIsEqualOnAllMembers()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        var random = new Random(42);
        // The model; a null value means absent. Each key's last acknowledged write (one client, one write at a time, so they are ordered),
        // and the outcomes of writes that got an error: those may or may not take effect, and linearizability gives an unanswered write
        // no deadline, so it may even land after a later acknowledged write to the same key. Each stays a possible final value for good.
        var acknowledged = new Dictionary<string, string?>();
        var indeterminate = new Dictionary<string, HashSet<string?>>();
        async Task Workload(int count)
        {
            using var client = new EtcdClient(string.Join(",", cluster.Members.Where(m => m.IsRunning).Select(m => m.ClientUrl)));
            for (var i = 0; i < count; i++)
            {
                var key = $"rw/{random.Next(KeyCount)}";
                var value = $"v{i}-{random.Next(1000)}";
                var delete = random.Next(5) == 0;
                try
                {
                    if (delete) await client.DeleteAsync(key);
                    else await client.PutAsync(key, value);
                    acknowledged[key] = delete ? null : value;
                }
                catch (RpcException)
                {
                    // Unavailable during the election: the write may or may not have happened.
                    if (!indeterminate.TryGetValue(key, out var outcomes)) indeterminate[key] = outcomes = [];
                    outcomes.Add(delete ? null : value);
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
        acknowledged["rw/final"] = "x";
        var hashes = await HashKv.OfEveryMemberAsync(cluster, revision, TimeSpan.FromSeconds(30), "every member applying the final write");
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        Assert.NotEqual(0U, hashes[0].Hash);

        // Every member holds, at that revision, exactly what the model allows: an acknowledged write that was lost or undone shows up
        // as an older value or a missing key, an acknowledged delete that was lost as a key still present.
        var keys = Enumerable.Range(0, KeyCount).Select(k => $"rw/{k}").Append("rw/final").ToArray();
        var certain = keys.Count(k => acknowledged.ContainsKey(k) && !indeterminate.ContainsKey(k));
        output.WriteLine($"{acknowledged.Count} keys with an acknowledged last write, {indeterminate.Count} with an unanswered one, {certain} certain");
        Assert.True(certain >= KeyCount / 2, $"only {certain} keys have a known final value; the check below would prove little");
        foreach (var m in cluster.Members)
        {
            using var c = new EtcdClient(m.ClientUrl);
            // Serializable: this member's own state machine, not the leader's.
            var range = await c.GetAsync(new RangeRequest { Key = B("rw/"), RangeEnd = B("rw0"), Revision = revision, Serializable = true });
            var actual = range.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8(), kv => kv.Value.ToStringUtf8());
            Assert.Empty(actual.Keys.Except(keys));
            foreach (var key in keys)
            {
                var allowed = new HashSet<string?> { acknowledged.GetValueOrDefault(key) };
                if (indeterminate.TryGetValue(key, out var outcomes)) allowed.UnionWith(outcomes);
                var value = actual.GetValueOrDefault(key);
                Assert.True(allowed.Contains(value),
                    $"member {m.Name} has {key} = {value ?? "(absent)"}; allowed: {string.Join(", ", allowed.Select(a => a ?? "(absent)"))}\n{cluster.Diagnostics()}");
            }
        }
    }
}
