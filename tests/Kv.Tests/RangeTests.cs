using Google.Protobuf;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;
using SortOrder = RaftKv.Etcd.Api.RangeRequest.Types.SortOrder;
using SortTarget = RaftKv.Etcd.Api.RangeRequest.Types.SortTarget;

namespace RaftKv.Kv.Tests;

public sealed class RangeTests
{
    private static TestStore Seeded()
    {
        var s = new TestStore();
        s.Put("a", "3"); // 2
        s.Put("b", "1"); // 3
        s.Put("c", "2"); // 4
        s.Put("a", "0"); // 5: a has version 2
        s.Put("d/1", "x"); // 6
        s.Put("d/2", "y"); // 7
        s.Put("e", "z"); // 8
        s.Delete("e"); // 9: e is a tombstone
        return s;
    }

    private static string[] Keys(RangeResponse r) => r.Kvs.Select(kv => kv.Key.ToStringUtf8()).ToArray();

    [Fact]
    public void EmptyRangeEndMeansOneKey()
    {
        using var s = Seeded();
        Assert.Equal(["b"], Keys(s.Range(new RangeRequest { Key = B("b") })));
        Assert.Empty(s.Range(new RangeRequest { Key = B("bb") }).Kvs);
        Assert.Empty(s.Range(new RangeRequest { Key = B("e") }).Kvs);
    }

    [Fact]
    public void RangeEndIsExclusive()
    {
        using var s = Seeded();
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("c") });
        Assert.Equal(["a", "b"], Keys(r));
        Assert.Equal(2, r.Count);
        Assert.False(r.More);
    }

    [Fact]
    public void PrefixRangeSelectsThePrefix()
    {
        using var s = Seeded();
        Assert.Equal(["d/1", "d/2"], Keys(s.Prefix("d/")));
        Assert.Equal(B("d0"), KeyRanges.PrefixEnd(B("d/").Span));
        Assert.Equal(ByteString.CopyFrom(0x62), KeyRanges.PrefixEnd(new byte[] { 0x61, 0xff }));
        Assert.Equal(KeyRanges.FromKeyEnd, KeyRanges.PrefixEnd(new byte[] { 0xff, 0xff }));
    }

    [Fact]
    public void ZeroRangeEndMeansEveryKeyFromKey()
    {
        using var s = Seeded();
        Assert.Equal(["c", "d/1", "d/2"], Keys(s.Range(new RangeRequest { Key = B("c"), RangeEnd = KeyRanges.FromKeyEnd })));
        var all = s.Range(new RangeRequest { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd });
        Assert.Equal(["a", "b", "c", "d/1", "d/2"], Keys(all));
        Assert.Equal(5, all.Count);
    }

    [Fact]
    public void RangeEndBeforeKeySelectsNothing()
    {
        using var s = Seeded();
        var r = s.Range(new RangeRequest { Key = B("c"), RangeEnd = B("a") });
        Assert.Empty(r.Kvs);
        Assert.Equal(0, r.Count);
    }

    [Fact]
    public void KeysCompareAsUnsignedBytes()
    {
        using var s = new TestStore();
        foreach (var key in new byte[][] { [0x80], [0x01], [0x7f], [0xff], [0x01, 0x00] })
        {
            s.Apply(new KvCommand { Put = new PutRequest { Key = ByteString.CopyFrom(key) } });
        }

        var all = s.Range(new RangeRequest { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd });
        Assert.Equal(new[] { "01", "0100", "7F", "80", "FF" }, all.Kvs.Select(kv => Convert.ToHexString(kv.Key.ToByteArray())));
    }

    [Fact]
    public void LimitSetsMoreAndCountIsTheWholeRange()
    {
        using var s = Seeded();
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = KeyRanges.FromKeyEnd, Limit = 2 });
        Assert.Equal(["a", "b"], Keys(r));
        Assert.True(r.More);
        Assert.Equal(5, r.Count);
        var exact = s.Range(new RangeRequest { Key = B("a"), RangeEnd = KeyRanges.FromKeyEnd, Limit = 5 });
        Assert.False(exact.More);
        Assert.Equal(5, exact.Kvs.Count);
    }

    [Fact]
    public void NegativeLimitMeansNoLimitAsInEtcd()
    {
        using var s = Seeded();
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = KeyRanges.FromKeyEnd, Limit = -1 });
        Assert.Equal(5, r.Kvs.Count);
        Assert.False(r.More);
    }

    [Fact]
    public void CountOnlyAndKeysOnly()
    {
        using var s = Seeded();
        var count = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z"), CountOnly = true, Limit = 1 });
        Assert.Empty(count.Kvs);
        Assert.Equal(5, count.Count);
        Assert.False(count.More);
        var keys = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z"), KeysOnly = true });
        Assert.All(keys.Kvs, kv => Assert.True(kv.Value.IsEmpty));
        Assert.Equal(2, keys.Kvs[0].Version);
    }

    [Theory]
    [InlineData(SortOrder.Ascend, SortTarget.Key, "a,b,c,d/1,d/2")]
    [InlineData(SortOrder.Descend, SortTarget.Key, "d/2,d/1,c,b,a")]
    [InlineData(SortOrder.Ascend, SortTarget.Value, "a,b,c,d/1,d/2")]
    [InlineData(SortOrder.Descend, SortTarget.Value, "d/2,d/1,c,b,a")]
    [InlineData(SortOrder.Ascend, SortTarget.Create, "a,b,c,d/1,d/2")]
    [InlineData(SortOrder.Descend, SortTarget.Create, "d/2,d/1,c,b,a")]
    [InlineData(SortOrder.Ascend, SortTarget.Mod, "b,c,a,d/1,d/2")]
    [InlineData(SortOrder.Descend, SortTarget.Mod, "d/2,d/1,a,c,b")]
    [InlineData(SortOrder.Descend, SortTarget.Version, "a,b,c,d/1,d/2")] // ties keep key order
    [InlineData(SortOrder.Ascend, SortTarget.Version, "b,c,d/1,d/2,a")]
    [InlineData(SortOrder.None, SortTarget.Mod, "b,c,a,d/1,d/2")] // etcd sorts ascending when only a target is given
    public void SortsByEveryTarget(SortOrder order, SortTarget target, string expected)
    {
        using var s = Seeded();
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z"), SortOrder = order, SortTarget = target });
        Assert.Equal(expected, string.Join(',', Keys(r)));
    }

    [Fact]
    public void SortedResultsAreCutAfterSorting()
    {
        using var s = Seeded();
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z"), SortOrder = SortOrder.Descend, SortTarget = SortTarget.Key, Limit = 2 });
        Assert.Equal(["d/2", "d/1"], Keys(r));
        Assert.True(r.More);
        Assert.Equal(5, r.Count);
    }

    [Fact]
    public void TargetWithoutOrderSortsOnlyTheFirstLimitPlusOneKeysAsEtcdDoes()
    {
        using var s = Seeded();

        // etcd fetches limit+1 keys in key order (a, b, c), sorts those by mod ascending (b, c, a), then cuts to 2.
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z"), SortTarget = SortTarget.Mod, Limit = 2 });
        Assert.Equal(["b", "c"], Keys(r));
        Assert.True(r.More);
    }

    [Fact]
    public void RevisionFiltersPruneButCountStaysWhole()
    {
        using var s = Seeded();
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z"), MinModRevision = 4, MaxModRevision = 6 });
        Assert.Equal(["a", "c", "d/1"], Keys(r));
        Assert.Equal(5, r.Count);
        var created = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z"), MinCreateRevision = 3, MaxCreateRevision = 4, Limit = 1 });
        Assert.Equal(["b"], Keys(created));
        Assert.True(created.More);
        Assert.Equal(5, created.Count);
    }

    [Fact]
    public void RangeAtPastRevisionCountsWhatWasThere()
    {
        using var s = Seeded();
        var r = s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z"), Revision = 8 });
        Assert.Equal(["a", "b", "c", "d/1", "d/2", "e"], Keys(r));
        Assert.Equal(6, r.Count);
        Assert.Equal(9, r.Header.Revision);
        Assert.Equal("3", s.Range(new RangeRequest { Key = B("a"), Revision = 4 }).Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public void FutureAndCompactedRevisionsAreRefused()
    {
        using var s = Seeded();
        var future = Assert.Throws<KvException>(() => s.Get("a", 10));
        Assert.Equal(KvError.FutureRevision, future.Error);
        Assert.Equal("etcdserver: mvcc: required revision is a future revision", future.Message);
        s.Compact(5);
        var compacted = Assert.Throws<KvException>(() => s.Get("a", 4));
        Assert.Equal(KvError.Compacted, compacted.Error);
        Assert.Equal("0", s.Value("a", 5));
    }

    [Fact]
    public void LargeRangesSeekAndPage()
    {
        using var s = new TestStore();
        for (var i = 0; i < 3000; i++)
        {
            s.Put($"k{i:D5}", $"{i}");
        }

        var page = s.Range(new RangeRequest { Key = B("k01000"), RangeEnd = B("k02000"), Limit = 10 });
        Assert.Equal("k01000", page.Kvs[0].Key.ToStringUtf8());
        Assert.Equal("k01009", page.Kvs[^1].Key.ToStringUtf8());
        Assert.Equal(1000, page.Count);
        Assert.True(page.More);
    }
}
