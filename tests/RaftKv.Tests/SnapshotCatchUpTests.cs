using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>
/// A follower that was down while the leader compacted its log past it catches up by snapshot (Raft paper section 7,
/// InstallSnapshot). With the store on disk the snapshot is not in the Raft message: the leader streams its live
/// store beside it, and the follower builds it in a staging directory and switches its state root to it.
/// </summary>
public sealed class SnapshotCatchUpTests
{
    private const int Keys = 2000;

    [Fact]
    public async Task AFollowerBehindTheLeadersLog_CatchesUpFromAStreamedStore()
    {
        await using var cluster = ProcessCluster.Create(3);
        foreach (var m in cluster.Members) m.ExtraArgs = [.. m.ExtraArgs, "--snapshot-count", "100"];
        foreach (var m in cluster.Members) m.Start();
        var leader = await cluster.WaitForLeaderAsync();
        var behind = cluster.Members.First(m => m != leader);
        behind.Kill();

        long revision;
        using (var client = new EtcdClient(leader.ClientUrl))
        {
            var value = ByteString.CopyFrom(new byte[1024]);
            await Task.WhenAll(Enumerable.Range(0, 20).Select(async worker =>
            {
                for (var i = 0; i < Keys / 20; i++) await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8($"k/{worker:D2}/{i:D3}"), Value = value });
            }));
            await client.DeleteAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("k/00/"), RangeEnd = ByteString.CopyFromUtf8("k/00/~") });
            var put = await client.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8("last"), Value = ByteString.CopyFromUtf8("x") });
            revision = put.Header.Revision;
            await client.CompactAsync(new CompactionRequest { Revision = revision - 10 });
        }

        behind.Start();
        var hashes = await HashKv.OfEveryMemberAsync(cluster, revision, TimeSpan.FromSeconds(90), "every member at the last write");
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        Assert.All(hashes, h => Assert.Equal(revision - 10, h.CompactRevision));

        using var direct = new EtcdClient(behind.ClientUrl);
        var count = await direct.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("k/"), RangeEnd = ByteString.CopyFromUtf8("k0"), CountOnly = true, Serializable = true });
        Assert.Equal(Keys - (Keys / 20), count.Count);
        // It caught up by switching to a received store, not by replaying the log (which the leader no longer has).
        var current = File.ReadAllText(Path.Combine(behind.DataDir, "member", "state", "CURRENT")).Trim();
        Assert.NotEqual("backend-0", current);
        Assert.Contains(behind.Output, line => line.Contains("snapshot", StringComparison.OrdinalIgnoreCase));
        // Delivered, not only staged: a refused transfer left the store switched but the follower's Raft log behind
        // for good (the leader resent the snapshot forever; the follower applied no later entry).
        Assert.DoesNotContain(behind.Output, line => line.Contains("refused a snapshot", StringComparison.Ordinal));
    }
}
