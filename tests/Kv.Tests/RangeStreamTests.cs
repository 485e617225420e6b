using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;
using SortOrder = RaftKv.Etcd.Api.RangeRequest.Types.SortOrder;
using SortTarget = RaftKv.Etcd.Api.RangeRequest.Types.SortTarget;

namespace RaftKv.Kv.Tests;

/// <summary>
/// RangeStream on both engines: merged in order, the chunks give exactly what Range gives at the pinned revision,
/// each chunk within its limits, and a compaction past the pinned revision fails the stream instead of mixing views.
/// </summary>
public sealed class RangeStreamTests
{
    private static readonly RangeChunkLimits Tiny = new(KeysMax: 3, BytesMax: 120, VisitsMax: 5);

    /// <summary>Keys k00..k39 with values of growing size, some rewritten and some deleted, and a key outside the prefix.</summary>
    private static TestStore Seeded(string engine)
    {
        var s = Of(engine);
        for (var i = 0; i < 40; i++)
        {
            s.Put($"k{i:D2}", new string('v', i % 7));
        }

        for (var i = 0; i < 40; i += 3)
        {
            s.Put($"k{i:D2}", "rewritten");
        }

        for (var i = 1; i < 40; i += 5)
        {
            s.Delete($"k{i:D2}");
        }

        s.Put("z", "outside");
        return s;
    }

    private static RangeRequest Prefix(string prefix) => new() { Key = B(prefix), RangeEnd = KeyRanges.PrefixEnd(B(prefix).Span) };

    /// <summary>Reads a stream to its end, checking every chunk's shape, and merges the chunks as etcd's clients do.</summary>
    private static RangeResponse Merge(KvStore store, RangeRequest request, RangeChunkLimits limits, out int chunks)
    {
        var reader = store.OpenRangeStream(request);
        var merged = new RangeResponse();
        chunks = 0;
        for (var i = 0; i < 10_000 && !reader.IsDone; i++)
        {
            var chunk = reader.Next(limits);
            chunks++;
            Assert.True(chunk.Kvs.Count <= limits.KeysMax, $"chunk of {chunk.Kvs.Count} pairs");
            var bytes = chunk.Kvs.Sum(kv => kv.Key.Length + kv.Value.Length + RangeChunkLimits.PairOverheadBytes);
            Assert.True(chunk.Kvs.Count <= 1 || bytes <= limits.BytesMax, $"chunk of {bytes} bytes");
            if (!reader.IsDone)
            {
                Assert.Null(chunk.Header);
                Assert.Equal(0, chunk.Count);
                Assert.False(chunk.More);
            }

            merged.MergeFrom(chunk);
        }

        Assert.True(reader.IsDone);
        return merged;
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var engine in new[] { "memory", "disk" })
        {
            foreach (var name in Requests(0).Keys)
            {
                data.Add(engine, name);
            }
        }

        return data;
    }

    private static Dictionary<string, RangeRequest> Requests(long oldRevision) => new()
    {
        ["prefix"] = Prefix("k"),
        ["all keys"] = new RangeRequest { Key = B("\0"), RangeEnd = KeyRanges.FromKeyEnd },
        ["one key"] = new RangeRequest { Key = B("k03") },
        ["missing key"] = new RangeRequest { Key = B("k01") },
        ["empty range"] = new RangeRequest { Key = B("k5"), RangeEnd = B("k6") },
        ["limit"] = Prefix("k").Also(r => r.Limit = 7),
        ["limit at the end"] = Prefix("k").Also(r => r.Limit = 32),
        ["limit past the end"] = Prefix("k").Also(r => r.Limit = 1000),
        ["negative limit"] = Prefix("k").Also(r => r.Limit = -1),
        ["keys only"] = Prefix("k").Also(r => r.KeysOnly = true),
        ["count only"] = Prefix("k").Also(r => r.CountOnly = true),
        ["count only with filter"] = Prefix("k").Also(r => { r.CountOnly = true; r.MinModRevision = 30; }),
        ["old revision"] = Prefix("k").Also(r => r.Revision = oldRevision),
        ["old revision with limit"] = Prefix("k").Also(r => { r.Revision = oldRevision; r.Limit = 5; }),
        ["old revision count only"] = Prefix("k").Also(r => { r.Revision = oldRevision; r.CountOnly = true; }),
        ["min mod revision"] = Prefix("k").Also(r => r.MinModRevision = 42),
        ["max mod revision with limit"] = Prefix("k").Also(r => { r.MaxModRevision = 20; r.Limit = 4; }),
        ["create revision window"] = Prefix("k").Also(r => { r.MinCreateRevision = 10; r.MaxCreateRevision = 30; }),
        ["filter with limit at its end"] = Prefix("k").Also(r => { r.MinModRevision = 42; r.Limit = 14; }),
        ["key ascending"] = Prefix("k").Also(r => { r.SortTarget = SortTarget.Key; r.SortOrder = SortOrder.Ascend; }),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MergedChunksEqualRange(string engine, string name)
    {
        using var s = Seeded(engine);
        var request = Requests(s.Store.Revision - 20)[name];
        var expected = s.Range(request);
        foreach (var limits in new[] { Tiny, new RangeChunkLimits(1, 1, 1), RangeChunkLimits.Default })
        {
            var merged = Merge(s.Store, request, limits, out _);
            Assert.Equal(expected, merged);
        }
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void ChunksAreDisjointAndInKeyOrder(string engine)
    {
        using var s = Seeded(engine);
        var reader = s.Store.OpenRangeStream(Prefix("k"));
        var keys = new List<string>();
        var nonEmpty = 0;
        for (var i = 0; i < 1000 && !reader.IsDone; i++)
        {
            var chunk = reader.Next(Tiny);
            nonEmpty += chunk.Kvs.Count > 0 ? 1 : 0;
            keys.AddRange(chunk.Kvs.Select(kv => kv.Key.ToStringUtf8()));
        }

        Assert.True(nonEmpty > 5, $"{nonEmpty} chunks with pairs");
        Assert.Equal(keys.Order(StringComparer.Ordinal).Distinct(), keys);
        Assert.Throws<InvalidOperationException>(() => reader.Next(Tiny));
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void WritesDuringTheStreamDoNotShowInIt(string engine)
    {
        using var s = Seeded(engine);
        var request = Prefix("k");
        var expected = s.Range(request);
        var reader = s.Store.OpenRangeStream(request);
        var merged = new RangeResponse();
        for (var i = 0; i < 1000 && !reader.IsDone; i++)
        {
            merged.MergeFrom(reader.Next(Tiny));
            s.Put($"k{i:D2}", "changed");
            s.Delete($"k{39 - i:D2}");
            s.Put($"k{i:D2}x", "new");
        }

        Assert.Equal(reader.Revision, expected.Header.Revision);
        Assert.Equal(expected.Kvs, merged.Kvs);
        Assert.Equal(expected.Count, merged.Count);
        Assert.Equal(s.Store.Revision - 3, merged.Header.Revision); // as Range: the store's revision when the last chunk was read
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void CompactionPastThePinnedRevisionFailsTheStream(string engine)
    {
        using var s = Seeded(engine);
        var reader = s.Store.OpenRangeStream(Prefix("k"));
        reader.Next(Tiny);
        s.Put("k00", "after");
        s.Compact(s.Store.Revision);
        var error = Assert.Throws<KvException>(() => reader.Next(Tiny)).Error;
        Assert.Equal(KvError.Compacted, error);
        Assert.Equal(StatusCode.OutOfRange, error.Code);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void CompactionAtThePinnedRevisionKeepsTheStreamWhole(string engine)
    {
        using var s = Seeded(engine);
        var request = Prefix("k");
        var expected = s.Range(request);
        var reader = s.Store.OpenRangeStream(request);
        var merged = new RangeResponse();
        merged.MergeFrom(reader.Next(Tiny));
        s.Put("k00", "after");
        s.Delete("k05");
        s.Compact(reader.Revision);
        for (var i = 0; i < 1000 && !reader.IsDone; i++)
        {
            merged.MergeFrom(reader.Next(Tiny));
        }

        Assert.Equal(expected.Kvs, merged.Kvs);
        Assert.Equal(expected.Count, merged.Count);
    }

    [Theory]
    [InlineData(SortTarget.Key, SortOrder.Descend)]
    [InlineData(SortTarget.Mod, SortOrder.Ascend)]
    [InlineData(SortTarget.Version, SortOrder.None)]
    [InlineData(SortTarget.Value, SortOrder.Descend)]
    public void OrdersOtherThanByKeyAscendingAreRefused(SortTarget target, SortOrder order)
    {
        using var s = Seeded("memory");
        var error = Assert.Throws<KvException>(() => s.Store.OpenRangeStream(Prefix("k").Also(r => { r.SortTarget = target; r.SortOrder = order; }))).Error;
        Assert.Equal(KvError.StreamSortUnsupported, error);
        Assert.Equal(StatusCode.Unimplemented, error.Code);
    }

    [Fact]
    public void RangeErrorsComeAtTheStart()
    {
        using var s = Seeded("memory");
        Assert.Equal(KvError.EmptyKey, Assert.Throws<KvException>(() => s.Store.OpenRangeStream(new RangeRequest())).Error);
        Assert.Equal(KvError.FutureRevision, Assert.Throws<KvException>(() => s.Store.OpenRangeStream(Prefix("k").Also(r => r.Revision = 10_000))).Error);
        s.Compact(10);
        Assert.Equal(KvError.Compacted, Assert.Throws<KvException>(() => s.Store.OpenRangeStream(Prefix("k").Also(r => r.Revision = 9))).Error);
        Assert.Equal(KvError.InvalidSortOption, Assert.Throws<KvException>(() => s.Store.OpenRangeStream(Prefix("k").Also(r => r.SortOrder = (SortOrder)9))).Error);
    }

    [Fact]
    public void ALargeValueTravelsAloneInItsChunk()
    {
        using var s = new TestStore();
        s.Put("a", "small");
        s.Put("b", new string('x', 500));
        s.Put("c", "small");
        var reader = s.Store.OpenRangeStream(Prefix("").Also(r => { r.Key = B("a"); r.RangeEnd = B("d"); }));
        var sizes = new List<int>();
        for (var i = 0; i < 10 && !reader.IsDone; i++)
        {
            sizes.Add(reader.Next(Tiny).Kvs.Count);
        }

        Assert.Equal([1, 1, 1], sizes);
    }

    [Fact]
    public void LimitsAreChecked()
    {
        using var s = Seeded("memory");
        var reader = s.Store.OpenRangeStream(Prefix("k"));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Next(new RangeChunkLimits(0, 1, 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Next(new RangeChunkLimits(4, 1, 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Next(new RangeChunkLimits(4, 0, 4)));
    }
}

/// <summary>A request changed in place, for the table of cases above.</summary>
internal static class RangeRequestExtensions
{
    public static RangeRequest Also(this RangeRequest request, Action<RangeRequest> change)
    {
        change(request);
        return request;
    }
}
