using RaftKv.Etcd.Api;
using RaftKv.Etcd.Api.Mvccpb;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

public sealed class RevisionTests
{
    [Fact]
    public void EmptyStoreIsAtRevisionOneAndFirstPutMakesTwo()
    {
        using var s = new TestStore();
        Assert.Equal(1, s.Store.Revision);
        Assert.Equal(-1, s.Store.CompactRevision);
        Assert.Equal(2, s.Put("a", "1").Header.Revision);
        Assert.Equal(2, s.Store.Revision);
        Assert.Equal(1UL, s.Store.AppliedIndex);
    }

    [Fact]
    public void PutsTrackCreateModAndVersion()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        s.Put("b", "x");
        s.Put("a", "2");
        var kv = s.Get("a").Kvs.Single();
        Assert.Equal((2L, 4L, 2L), (kv.CreateRevision, kv.ModRevision, kv.Version));
        Assert.Equal("2", kv.Value.ToStringUtf8());
    }

    [Fact]
    public void DeleteResetsVersionAndNextPutRecreates()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        s.Put("a", "2");
        var deleted = s.Delete("a");
        Assert.Equal(1, deleted.Deleted);
        Assert.Equal(4, deleted.Header.Revision);
        Assert.Empty(s.Get("a").Kvs);
        s.Put("a", "3");
        var kv = s.Get("a").Kvs.Single();
        Assert.Equal((5L, 5L, 1L), (kv.CreateRevision, kv.ModRevision, kv.Version));
    }

    [Fact]
    public void DeletingNothingDoesNotAdvanceTheRevision()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        var response = s.Delete("zzz");
        Assert.Equal(0, response.Deleted);
        Assert.Equal(2, response.Header.Revision);
        Assert.Equal(2, s.Store.Revision);
    }

    [Fact]
    public void ReadsAtPastRevisionsSeeThePast()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        s.Put("a", "2"); // 3
        s.Delete("a"); // 4
        s.Put("a", "3"); // 5
        Assert.Null(s.Value("a", 1));
        Assert.Equal("1", s.Value("a", 2));
        Assert.Equal("2", s.Value("a", 3));
        Assert.Null(s.Value("a", 4));
        Assert.Equal("3", s.Value("a", 5));
        var old = s.Get("a", 3);
        Assert.Equal(5, old.Header.Revision); // the header carries the current revision, as in etcd
        Assert.Equal(2, old.Kvs[0].Version);
    }

    [Fact]
    public void TxnWithSeveralWritesIsOneRevisionWithSubRevisionsInOrder()
    {
        using var s = new TestStore();
        s.Put("c", "0");
        var result = Ok(s.TryTxn(new TxnRequest { Success = { PutOp("a", "1"), PutOp("b", "2"), DeleteOp("c") } }));
        Assert.Equal(3, result.Txn!.Header.Revision);
        Assert.Equal(3, s.Store.Revision);
        Assert.Equal(new[] { ("a", Event.Types.EventType.Put), ("b", Event.Types.EventType.Put), ("c", Event.Types.EventType.Delete) },
            result.Events.Select(e => (e.Kv.Key.ToStringUtf8(), e.Type)));
        Assert.All(result.Events, e => Assert.Equal(3, e.Kv.ModRevision));
        Assert.Equal("0", result.Events[2].PrevKv.Value.ToStringUtf8());
        Assert.Equal(3, s.Get("a").Kvs[0].CreateRevision);
    }

    [Fact]
    public void ReadOnlyTxnDoesNotAdvanceTheRevision()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        var txn = s.Txn(new TxnRequest { Success = { GetOp("a") } });
        Assert.Equal(2, txn.Header.Revision);
        Assert.Equal(2, s.Store.Revision);
    }

    [Fact]
    public void ApplyRefusesIndexesThatDoNotIncrease()
    {
        using var store = new KvStore();
        store.Apply(5, new KvCommand { Put = new PutRequest { Key = B("a") } });
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Apply(5, new KvCommand { Put = new PutRequest { Key = B("b") } }));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.MarkApplied(4));
        store.MarkApplied(9);
        Assert.Equal(9UL, store.AppliedIndex);
        Assert.Equal(2, store.Revision);
    }

    [Fact]
    public void EventsCarryPreviousVersions()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        var put = s.Apply(new KvCommand { Put = new PutRequest { Key = B("a"), Value = B("2") } });
        var e = Assert.Single(put.Events);
        Assert.Equal(Event.Types.EventType.Put, e.Type);
        Assert.Equal(("2", 2L), (e.Kv.Value.ToStringUtf8(), e.Kv.Version));
        Assert.Equal("1", e.PrevKv.Value.ToStringUtf8());
        var del = s.Apply(new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B("a") } });
        var d = Assert.Single(del.Events);
        Assert.Equal(Event.Types.EventType.Delete, d.Type);
        Assert.Equal((4L, 0L), (d.Kv.ModRevision, d.Kv.Version));
        Assert.Equal("2", d.PrevKv.Value.ToStringUtf8());
    }

    [Fact]
    public void EventsCanBeSwitchedOff()
    {
        using var s = new TestStore(new KvStoreOptions { CollectEvents = false });
        var result = s.Apply(new KvCommand { Put = new PutRequest { Key = B("a") } });
        Assert.True(result.Succeeded);
        Assert.Empty(result.Events);
        Assert.Single(s.Store.ReadEvents(2, 10).Events);
    }

    [Fact]
    public void ReadEventsReturnsWholeRevisionsAndResumes()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        s.Txn(new TxnRequest { Success = { PutOp("b", "1"), PutOp("c", "1") } }); // 3
        s.Delete("a"); // 4
        var page = s.Store.ReadEvents(2, maxEvents: 2);
        Assert.Equal(["a", "b", "c"], page.Events.Select(e => e.Kv.Key.ToStringUtf8()));
        Assert.Equal(4, page.NextRevision);
        var rest = s.Store.ReadEvents(page.NextRevision, 10);
        var delete = Assert.Single(rest.Events);
        Assert.Equal(Event.Types.EventType.Delete, delete.Type);
        Assert.Equal("1", delete.PrevKv.Value.ToStringUtf8());
        Assert.Equal(5, rest.NextRevision);
        Assert.Empty(s.Store.ReadEvents(5, 10).Events);
    }
}
