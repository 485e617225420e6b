using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests.Robustness;

/// <summary>
/// The power-loss fault itself (issue 16, <see cref="FaultKind.PowerLoss"/>): a follower whose backend keeps its
/// commits in memory (failure point <c>backend-wal=skip</c>) is killed after applying writes, so its store reopens
/// behind what it had applied, as after a power loss. It must replay the rest from its Raft log (paper section 5.4:
/// committed entries are durable in the log, and the state machine is a function of it) and agree with the others.
/// </summary>
public sealed partial class PowerLossTests
{
    [Fact]
    public async Task AFollowerThatLosesItsBackendTail_ReplaysItFromTheLog_AndAgrees()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members)
        {
            m.ExtraArgs = [.. m.ExtraArgs, "--snapshot-count", "100000"]; // no snapshot: nothing makes the writes durable in the backend
            m.Start();
        }
        var leader = await cluster.WaitForLeaderAsync();
        var victim = cluster.Members.First(m => m != leader);
        victim.Kill();
        victim.Start(new Dictionary<string, string?> { ["RAFTKV_FAILPOINTS"] = "backend-wal=skip" });
        await cluster.WaitForLeaderAsync();

        const int Writes = 200;
        long lastRevision = 0;
        using (var channel = leader.OpenChannel())
        {
            var kv = new KV.KVClient(channel);
            for (var i = 0; i < Writes; i++)
            {
                var put = await kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"pl/{i}"), Value = ByteString.CopyFromUtf8($"v{i}") }, deadline: DateTime.UtcNow.AddSeconds(10));
                lastRevision = put.Header.Revision;
            }
        }
        // The victim applied them all (in its memtable only) before the power goes.
        var applied = await Poll.UntilAsync(async () => await victim.TryStatusAsync() is { } s && s.Applied >= (await leader.TryStatusAsync())?.Commit ? s.Applied : (ulong?)null,
            ProcessCluster.ElectionBound, "the victim applied every write", cluster.Diagnostics);
        Assert.Contains(victim.Output, l => l.Contains("failpoint backend-wal fired", StringComparison.Ordinal));
        victim.Kill();
        victim.Start();

        // It reopened behind what it had applied (the loss happened) ...
        var opened = await Poll.UntilAsync(() => Task.FromResult(victim.Output.Select(l => StoreOpened().Match(l)).LastOrDefault(m => m.Success) is { } m
            ? ulong.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : (ulong?)null), ProcessCluster.ElectionBound, "the victim's start line", cluster.Diagnostics);
        Assert.True(opened.GetValueOrDefault() + Writes <= applied.GetValueOrDefault(),
            $"the store reopened at applied index {opened}, not {Writes} behind the {applied} it had applied: no loss was simulated");
        // ... and replayed it: every write is back, and its state hashes as the others'.
        var hashes = await HashKv.OfEveryMemberAsync(cluster, lastRevision, ProcessCluster.ElectionBound, "HashKV of every member after the power loss");
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        using var fromVictim = victim.OpenChannel();
        var range = await new KV.KVClient(fromVictim).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("pl/"), RangeEnd = ByteString.CopyFromUtf8("pl0"), Serializable = true },
            deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(Writes, range.Kvs.Count);
    }

    [GeneratedRegex(@"store opened at applied index (\d+)")]
    private static partial Regex StoreOpened();
}
