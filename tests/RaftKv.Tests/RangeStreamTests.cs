using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RaftKv.Etcd.Api;
using RaftKv.Tests.Infrastructure;

namespace RaftKv.Tests;

/// <summary>
/// etcd 3.7's KV.RangeStream against a 3-member cluster, through a raw gRPC client generated from our protos:
/// chunks disjoint and in key order, header/count/more only in the last one, and merged they equal Range.
/// </summary>
public sealed class RangeStreamTests(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private const int Keys = 20_000;
    private const int PutsPerTxn = 100; // below etcd's default --max-txn-ops (128)
    private static readonly SemaphoreSlim Seeding = new(1, 1);
    private static long seededRevision;

    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    private static RangeRequest Prefix(string prefix) => new() { Key = B(prefix), RangeEnd = B(prefix[..^1] + (char)(prefix[^1] + 1)) };

    private KV.KVClient Client(int member, out GrpcChannel channel)
    {
        channel = GrpcChannel.ForAddress(fixture.Cluster.Members[member].ClientUrl);
        return new KV.KVClient(channel);
    }

    /// <summary>Writes rs/00000 .. rs/19999 once per fixture (values of 0..199 bytes), and returns the revision halfway.</summary>
    private async Task<long> SeedAsync()
    {
        await Seeding.WaitAsync();
        try
        {
            if (seededRevision != 0) return seededRevision;
            var kv = Client(0, out var channel);
            using var _ = channel;
            long half = 0;
            for (var first = 0; first < Keys; first += PutsPerTxn)
            {
                var txn = new TxnRequest();
                for (var i = first; i < first + PutsPerTxn; i++)
                {
                    txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = B($"rs/{i:D5}"), Value = B(new string('v', i % 200)) } });
                }
                var response = await kv.TxnAsync(txn, deadline: DateTime.UtcNow.AddSeconds(30));
                if (first + PutsPerTxn == Keys / 2) half = response.Header.Revision;
            }
            await kv.PutAsync(new PutRequest { Key = B("rt"), Value = B("outside the prefix") });
            return seededRevision = half;
        }
        finally
        {
            Seeding.Release();
        }
    }

    /// <summary>Reads a whole stream, checking each chunk's shape, and returns the chunks.</summary>
    private static async Task<List<RangeResponse>> ReadStreamAsync(KV.KVClient kv, RangeRequest request)
    {
        using var call = kv.RangeStream(request, deadline: DateTime.UtcNow.AddSeconds(60));
        var chunks = new List<RangeResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
            Assert.True(chunks.Count < 100_000, "a bounded number of chunks");
            chunks.Add(call.ResponseStream.Current.RangeResponse);
        }
        Assert.NotEmpty(chunks);
        foreach (var middle in chunks.SkipLast(1))
        {
            Assert.Null(middle.Header);
            Assert.Equal(0, middle.Count);
            Assert.False(middle.More);
            Assert.NotEmpty(middle.Kvs);
        }
        return chunks;
    }

    private static RangeResponse Merge(IEnumerable<RangeResponse> chunks)
    {
        var merged = new RangeResponse();
        foreach (var c in chunks) merged.MergeFrom(c);
        return merged;
    }

    public static TheoryData<string> Requests() => ["prefix", "limit", "keys only", "revision", "revision with limit", "count only", "filter", "one key", "serializable"];

    private static RangeRequest Request(string name, long half) => name switch
    {
        "prefix" => Prefix("rs/"),
        "limit" => Prefix("rs/").Also(r => r.Limit = 7_500),
        "keys only" => Prefix("rs/").Also(r => r.KeysOnly = true),
        "revision" => Prefix("rs/").Also(r => r.Revision = half),
        "revision with limit" => Prefix("rs/").Also(r => { r.Revision = half; r.Limit = 6_000; }),
        "count only" => Prefix("rs/").Also(r => r.CountOnly = true),
        "filter" => Prefix("rs/").Also(r => r.MinModRevision = half),
        "one key" => new RangeRequest { Key = B("rs/01234") },
        "serializable" => Prefix("rs/").Also(r => r.Serializable = true),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task MergedChunksEqualRange_OnEveryMember(string name)
    {
        var half = await SeedAsync();
        var request = Request(name, half);
        for (var member = 0; member < 3; member++)
        {
            var kv = Client(member, out var channel);
            using var _ = channel;
            var expected = await kv.RangeAsync(request, deadline: DateTime.UtcNow.AddSeconds(60));
            var chunks = await ReadStreamAsync(kv, request);
            var keys = chunks.SelectMany(c => c.Kvs).Select(k => k.Key.ToStringUtf8()).ToList();
            Assert.Equal(keys.Distinct().Order(StringComparer.Ordinal), keys); // disjoint, in key order
            var last = chunks[^1];
            Assert.NotNull(last.Header);
            Assert.NotEqual(0UL, last.Header.ClusterId);
            Assert.NotEqual(0UL, last.Header.MemberId);
            Assert.NotEqual(0UL, last.Header.RaftTerm);
            var merged = Merge(chunks);
            Assert.Equal(expected.Kvs, merged.Kvs);
            Assert.Equal(expected.Count, merged.Count);
            Assert.Equal(expected.More, merged.More);
            Assert.Equal(expected.Header.MemberId, merged.Header.MemberId);
            Assert.Equal(expected.Header.Revision, merged.Header.Revision); // nothing written meanwhile
            if (name is "prefix" or "keys only" or "limit") Assert.True(chunks.Count > 1, $"{chunks.Count} chunk(s) for {name}");
        }
    }

    [Fact]
    public async Task TheExpectedShapes()
    {
        var half = await SeedAsync();
        var kv = Client(1, out var channel);
        using var _ = channel;
        var all = Merge(await ReadStreamAsync(kv, Prefix("rs/")));
        Assert.Equal(Keys, all.Kvs.Count);
        Assert.Equal(Keys, all.Count);
        Assert.False(all.More);
        var limited = Merge(await ReadStreamAsync(kv, Prefix("rs/").Also(r => r.Limit = 7_500)));
        Assert.Equal(7_500, limited.Kvs.Count);
        Assert.True(limited.More);
        Assert.Equal(Keys, limited.Count);
        var keysOnly = Merge(await ReadStreamAsync(kv, Prefix("rs/").Also(r => r.KeysOnly = true)));
        Assert.All(keysOnly.Kvs, k => Assert.True(k.Value.IsEmpty));
        var old = Merge(await ReadStreamAsync(kv, Prefix("rs/").Also(r => r.Revision = half)));
        Assert.Equal(Keys / 2, old.Kvs.Count);
        Assert.All(old.Kvs, k => Assert.True(k.ModRevision <= half));
        var countOnly = await ReadStreamAsync(kv, Prefix("rs/").Also(r => r.CountOnly = true));
        Assert.Single(countOnly);
        Assert.Equal(Keys, countOnly[0].Count);
        Assert.Empty(countOnly[0].Kvs);
    }

    [Fact]
    public async Task OrdersOtherThanByKeyAscendingAreUnimplemented_AndRangeErrorsAreEtcds()
    {
        await SeedAsync();
        var kv = Client(2, out var channel);
        using var _ = channel;
        var descend = Prefix("rs/").Also(r => { r.SortOrder = RangeRequest.Types.SortOrder.Descend; r.SortTarget = RangeRequest.Types.SortTarget.Key; });
        var e = await Assert.ThrowsAsync<RpcException>(() => ReadStreamAsync(kv, descend));
        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
        var future = await Assert.ThrowsAsync<RpcException>(() => ReadStreamAsync(kv, Prefix("rs/").Also(r => r.Revision = 1_000_000_000)));
        Assert.Equal(StatusCode.OutOfRange, future.StatusCode);
        Assert.Equal("etcdserver: mvcc: required revision is a future revision", future.Status.Detail);
        var empty = await Assert.ThrowsAsync<RpcException>(() => ReadStreamAsync(kv, new RangeRequest()));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Equal("etcdserver: key is not provided", empty.Status.Detail);
    }
}

/// <summary>A request changed in place, for tables of cases.</summary>
internal static class RangeRequestExtensions
{
    public static RangeRequest Also(this RangeRequest request, Action<RangeRequest> change)
    {
        change(request);
        return request;
    }
}
