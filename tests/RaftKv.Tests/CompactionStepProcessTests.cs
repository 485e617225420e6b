using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>
/// A compaction of more changes than one step visits (10,000) is carried out by the compaction-step entries the
/// leader proposes after it: every member ends with the same versions deleted and the same logical size (state
/// machine safety, Raft paper section 5.4.3, for the deletions too), and only the newest version of each key stays.
/// </summary>
public sealed class CompactionStepProcessTests
{
    private const int Keys = 128; // one txn's worth of puts (etcd's default max txn ops)
    private const int Rounds = 200; // 25,600 changes: three steps at least

    [Fact]
    public async Task ALargeCompactionIsCarriedOutOnEveryMemberAlike()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        await cluster.WaitForLeaderAsync();
        using var client = new EtcdClient(string.Join(",", cluster.Members.Select(m => m.ClientUrl)));
        long revision = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var txn = new TxnRequest();
            for (var k = 0; k < Keys; k++)
            {
                txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8($"c/{k:D3}"), Value = ByteString.CopyFromUtf8($"v{round}") } });
            }

            revision = (await client.TransactionAsync(txn)).Header.Revision;
        }

        await client.CompactAsync(new CompactionRequest { Revision = revision });
        var statuses = await Poll.UntilAsync(
            async () =>
            {
                var all = await Task.WhenAll(cluster.Members.Select(m => m.TryStatusAsync()));
                return all.All(s => s?.Store is { CompactionPending: false } store && store.CompactRevision == revision) ? all : null;
            },
            TimeSpan.FromSeconds(60), "every member to finish the compaction", cluster.Diagnostics);

        foreach (var status in statuses)
        {
            Assert.Equal(Keys, status!.Store!.VersionCount); // the newest version of each key, nothing older
        }

        Assert.Single(statuses.Select(s => s!.Store!.SizeBytes).Distinct());
        var hashes = await HashKv.OfEveryMemberAsync(cluster, revision, TimeSpan.FromSeconds(30), "every member at the compaction revision");
        Assert.Single(hashes.Select(h => h.Hash).Distinct());
        var range = await client.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8("c/"), RangeEnd = ByteString.CopyFromUtf8("c0") });
        Assert.Equal(Keys, range.Kvs.Count);
        Assert.All(range.Kvs, kv => Assert.Equal($"v{Rounds - 1}", kv.Value.ToStringUtf8()));
    }
}
