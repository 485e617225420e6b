using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>The dotnet-etcd client library against a 3-member raftkv cluster, unchanged.</summary>
public sealed class EtcdClientCompatibilityTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private EtcdClient Client(int member = -1) => new(member < 0
        ? string.Join(",", fixture.Cluster.Members.Select(m => m.ClientUrl))
        : fixture.Cluster.Members[member].ClientUrl);

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task PutGetDelete_OnAnyMember()
    {
        // Writes on a follower are forwarded to the leader; reads are linearizable by default.
        for (var i = 0; i < 3; i++)
        {
            using var client = Client(i);
            await client.PutAsync($"pgd/{i}", $"v{i}");
            using var other = Client((i + 1) % 3);
            Assert.Equal($"v{i}", await other.GetValAsync($"pgd/{i}"));
        }
        using var c = Client();
        var deleted = await c.DeleteAsync(new DeleteRangeRequest { Key = B("pgd/"), RangeEnd = B("pgd0"), PrevKv = true });
        Assert.Equal(3, deleted.Deleted);
        Assert.Equal(["v0", "v1", "v2"], deleted.PrevKvs.Select(kv => kv.Value.ToStringUtf8()).Order());
        Assert.Equal("", await c.GetValAsync("pgd/0"));
    }

    [Fact]
    public async Task Range_PrefixLimitSortKeysOnlyCountOnly()
    {
        using var c = Client();
        foreach (var k in new[] { "rng/b", "rng/a", "rng/c", "rng/d" }) await c.PutAsync(k, "x" + k[^1]);
        var all = await c.GetRangeAsync("rng/");
        Assert.Equal(["rng/a", "rng/b", "rng/c", "rng/d"], all.Kvs.Select(kv => kv.Key.ToStringUtf8()));
        var limited = await c.GetAsync(new RangeRequest { Key = B("rng/"), RangeEnd = B("rng0"), Limit = 2 });
        Assert.Equal(2, limited.Kvs.Count);
        Assert.True(limited.More);
        Assert.Equal(4, limited.Count);
        var sorted = await c.GetAsync(new RangeRequest
        {
            Key = B("rng/"), RangeEnd = B("rng0"), SortOrder = RangeRequest.Types.SortOrder.Descend, SortTarget = RangeRequest.Types.SortTarget.Key,
        });
        Assert.Equal("rng/d", sorted.Kvs[0].Key.ToStringUtf8());
        var keysOnly = await c.GetAsync(new RangeRequest { Key = B("rng/"), RangeEnd = B("rng0"), KeysOnly = true });
        Assert.All(keysOnly.Kvs, kv => Assert.True(kv.Value.IsEmpty));
        var countOnly = await c.GetAsync(new RangeRequest { Key = B("rng/"), RangeEnd = B("rng0"), CountOnly = true });
        Assert.Empty(countOnly.Kvs);
        Assert.Equal(4, countOnly.Count);
    }

    [Fact]
    public async Task Revisions_VersionsAndReadsAtAPastRevision()
    {
        using var c = Client();
        var first = await c.PutAsync("rev/k", "one");
        var second = await c.PutAsync("rev/k", "two");
        Assert.Equal(first.Header.Revision + 1, second.Header.Revision);
        var now = await c.GetAsync("rev/k");
        Assert.Equal(2, now.Kvs[0].Version);
        Assert.Equal(first.Header.Revision, now.Kvs[0].CreateRevision);
        Assert.Equal(second.Header.Revision, now.Kvs[0].ModRevision);
        var past = await c.GetAsync(new RangeRequest { Key = B("rev/k"), Revision = first.Header.Revision });
        Assert.Equal("one", past.Kvs[0].Value.ToStringUtf8());
        Assert.NotEqual(0UL, now.Header.ClusterId);
        Assert.NotEqual(0UL, now.Header.MemberId);
        Assert.True(now.Header.RaftTerm > 0);
    }

    [Fact]
    public async Task Txn_CompareAndSwap()
    {
        using var c = Client();
        await c.PutAsync("txn/k", "a");
        TxnRequest Cas(string expect, string next) => new()
        {
            Compare = { new Compare { Key = B("txn/k"), Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = B(expect) } },
            Success = { new RequestOp { RequestPut = new PutRequest { Key = B("txn/k"), Value = B(next) } } },
            Failure = { new RequestOp { RequestRange = new RangeRequest { Key = B("txn/k") } } },
        };
        var ok = await c.TransactionAsync(Cas("a", "b"));
        Assert.True(ok.Succeeded);
        var failed = await c.TransactionAsync(Cas("a", "c"));
        Assert.False(failed.Succeeded);
        Assert.Equal("b", failed.Responses[0].ResponseRange.Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public async Task Compaction_ThenReadingACompactedRevisionFailsLikeEtcd()
    {
        using var c = Client();
        var old = await c.PutAsync("cmp/k", "1");
        var latest = await c.PutAsync("cmp/k", "2");
        await c.CompactAsync(new CompactionRequest { Revision = latest.Header.Revision });
        var e = await Assert.ThrowsAsync<RpcException>(() => c.GetAsync(new RangeRequest { Key = B("cmp/k"), Revision = old.Header.Revision }));
        Assert.Equal(StatusCode.OutOfRange, e.StatusCode);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", e.Status.Detail);
    }

    [Fact]
    public async Task StatusAndMemberList()
    {
        var statuses = new List<StatusResponse>();
        foreach (var m in fixture.Cluster.Members)
        {
            using var c = new EtcdClient(m.ClientUrl);
            statuses.Add(await c.StatusAsync(new StatusRequest()));
        }
        Assert.Single(statuses.Select(s => s.Leader).Distinct());
        Assert.Contains(statuses, s => s.Leader == s.Header.MemberId);
        // Kubernetes turns watch progress requests off below 3.4.25 and for 3.5.0-3.5.7; raftkv implements 3.5.8+'s.
        Assert.All(statuses, s => Assert.Equal("3.5.17", s.Version));
        using var client = Client();
        var members = await client.MemberListAsync(new MemberListRequest());
        Assert.Equal(["A", "B", "C"], members.Members.Select(m => m.Name).Order());
        Assert.All(members.Members, m => Assert.Single(m.ClientURLs));
    }

    [Fact]
    public async Task BadInput_GetsEtcdsErrorAndChangesNothing()
    {
        using var c = Client();
        var before = (await c.GetAsync("bad/")).Header.Revision;
        var empty = await Assert.ThrowsAsync<RpcException>(() => c.PutAsync(new PutRequest { Key = ByteString.Empty, Value = B("v") }));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Equal("etcdserver: key is not provided", empty.Status.Detail);
        var huge = await Assert.ThrowsAsync<RpcException>(() => c.PutAsync(new PutRequest { Key = B("bad/huge"), Value = ByteString.CopyFrom(new byte[2 * 1024 * 1024]) }));
        Assert.Equal(StatusCode.InvalidArgument, huge.StatusCode);
        Assert.Equal("etcdserver: request is too large", huge.Status.Detail);
        Assert.Equal(before, (await c.GetAsync("bad/")).Header.Revision);
    }
}
