using Grpc.Core;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

public sealed class CompactionTests
{
    [Fact]
    public void CompactionErrorsMatchEtcd()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        s.Put("a", "2"); // 3
        var future = s.TryCompact(4);
        Assert.Equal(KvError.FutureRevision, future.Error);
        Assert.Equal(StatusCode.OutOfRange, future.Error!.Code);
        s.Compact(2);
        var again = s.TryCompact(2);
        Assert.Equal(KvError.Compacted, again.Error);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", again.Error!.Message);
        Assert.Equal(KvError.Compacted, s.TryCompact(1).Error);
        Assert.Equal(3, Ok(s.TryCompact(3)).Compaction!.Header.Revision);
        Assert.Equal(3, s.Store.CompactRevision);
    }

    [Fact]
    public void CompactionKeepsTheVersionVisibleAtItsRevision()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        s.Put("a", "2"); // 3
        s.Put("b", "1"); // 4
        s.Put("a", "3"); // 5
        s.Compact(4);
        Assert.Equal("2", s.Value("a", 4));
        Assert.Equal("1", s.Value("b", 4));
        Assert.Equal("3", s.Value("a"));
        Assert.Equal(KvError.Compacted, Assert.Throws<KvException>(() => s.Get("a", 3)).Error);
        var kv = s.Get("a", 4).Kvs[0];
        Assert.Equal((2L, 3L, 2L), (kv.CreateRevision, kv.ModRevision, kv.Version));
    }

    [Fact]
    public void CompactionDropsDeletedKeysAndShrinksTheStore()
    {
        using var s = new TestStore();
        for (var i = 0; i < 100; i++)
        {
            s.Put($"k{i}", new string('x', 100));
        }

        s.Delete("k", "l");
        var before = s.Store.SizeBytes;
        Assert.Equal(200, s.Store.VersionCount);
        s.Compact(s.Store.Revision);
        Assert.Equal(0, s.Store.VersionCount);
        Assert.Equal(0, s.Store.SizeBytes);
        Assert.True(before > 0);
        Assert.Empty(s.Range(new RangeRequest { Key = B("k"), RangeEnd = B("l") }).Kvs);
        s.Put("k1", "back");
        Assert.Equal(1, s.Get("k1").Kvs[0].Version);
    }

    [Fact]
    public void TombstoneAfterTheCompactionRevisionStays()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        s.Delete("a"); // 3
        s.Compact(2);
        Assert.Equal("1", s.Value("a", 2));
        Assert.Null(s.Value("a", 3));
        Assert.Equal(2, s.Store.VersionCount);
        s.Compact(3);
        Assert.Equal(0, s.Store.VersionCount);
    }

    [Fact]
    public void RepeatedCompactionsOnlyDropSupersededVersions()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        s.Put("b", "1"); // 3
        s.Compact(3);
        s.Put("c", "1"); // 4
        s.Compact(4);
        Assert.Equal(["a", "b", "c"], s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z") }).Kvs.Select(kv => kv.Key.ToStringUtf8()));
        s.Put("a", "2"); // 5
        s.Compact(5);
        Assert.Equal(3, s.Store.VersionCount);
        Assert.Equal("2", s.Value("a"));
    }

    [Fact]
    public void EventsBelowTheCompactionAreGone()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        s.Put("a", "2"); // 3
        s.Delete("a"); // 4
        s.Put("b", "1"); // 5
        s.Compact(4);
        Assert.Equal(KvError.Compacted, Assert.Throws<KvException>(() => s.Store.ReadEvents(3, 10)).Error);
        var page = s.Store.ReadEvents(4, 10);
        Assert.Equal(["b"], page.Events.Select(e => e.Kv.Key.ToStringUtf8())); // the tombstone at 4 went with the compaction
    }
}
