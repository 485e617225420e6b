using Grpc.Core;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

public sealed class PutDeleteTests
{
    [Fact]
    public void PrevKvIsReturnedOnlyWhenAskedAndPresent()
    {
        using var s = new TestStore();
        var first = s.TryPut(new PutRequest { Key = B("a"), Value = B("1"), PrevKv = true });
        Assert.Null(first.Put!.PrevKv);
        var second = s.TryPut(new PutRequest { Key = B("a"), Value = B("2"), PrevKv = true });
        Assert.Equal(("1", 2L, 1L), (second.Put!.PrevKv.Value.ToStringUtf8(), second.Put.PrevKv.ModRevision, second.Put.PrevKv.Version));
        var third = s.TryPut(new PutRequest { Key = B("a"), Value = B("3") });
        Assert.Null(third.Put!.PrevKv);
    }

    [Fact]
    public void IgnoreValueKeepsTheValueAndBumpsTheVersion()
    {
        using var s = new TestStore();
        s.Grant(7, 9);
        s.Put("a", "keep", lease: 7);
        Ok(s.TryPut(new PutRequest { Key = B("a"), IgnoreValue = true, Lease = 9 }));
        var kv = s.Get("a").Kvs.Single();
        Assert.Equal(("keep", 9L, 2L), (kv.Value.ToStringUtf8(), kv.Lease, kv.Version));
    }

    [Fact]
    public void IgnoreLeaseKeepsTheLease()
    {
        using var s = new TestStore();
        s.Grant(7);
        s.Put("a", "1", lease: 7);
        Ok(s.TryPut(new PutRequest { Key = B("a"), Value = B("2"), IgnoreLease = true }));
        var kv = s.Get("a").Kvs.Single();
        Assert.Equal(("2", 7L), (kv.Value.ToStringUtf8(), kv.Lease));
    }

    [Fact]
    public void IgnoreFlagsNeedAnExistingKey()
    {
        using var s = new TestStore();
        s.Put("gone", "1");
        s.Delete("gone");
        var missing = s.TryPut(new PutRequest { Key = B("a"), IgnoreValue = true });
        Assert.Equal(KvError.KeyNotFound, missing.Error);
        Assert.Equal("etcdserver: key not found", missing.Error!.Message);
        Assert.Equal(KvError.KeyNotFound, s.TryPut(new PutRequest { Key = B("gone"), Value = B("x"), IgnoreLease = true }).Error);
        Assert.Equal(3, s.Store.Revision);
    }

    [Fact]
    public void IgnoreFlagsRefuseAValueOrLeaseAlongside()
    {
        Assert.Equal(KvError.ValueProvided, KvRequestValidator.ValidatePut(new PutRequest { Key = B("a"), Value = B("v"), IgnoreValue = true }));
        Assert.Equal(KvError.LeaseProvided, KvRequestValidator.ValidatePut(new PutRequest { Key = B("a"), Lease = 1, IgnoreLease = true }));
        Assert.Equal("etcdserver: value is provided", KvError.ValueProvided.Message);
        Assert.Equal("etcdserver: lease is provided", KvError.LeaseProvided.Message);
    }

    [Fact]
    public void LeaseIsStoredWithTheKey()
    {
        using var s = new TestStore();
        s.Grant(0x1234);
        s.Put("a", "1", lease: 0x1234);
        Assert.Equal(0x1234, s.Get("a").Kvs[0].Lease);
    }

    [Fact]
    public void EmptyValuesAreValues()
    {
        using var s = new TestStore();
        s.Put("a", "");
        var kv = s.Get("a").Kvs.Single();
        Assert.True(kv.Value.IsEmpty);
        Assert.Equal(1, kv.Version);
    }

    [Fact]
    public void DeleteRangeCountsAndReturnsPrevKvs()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        s.Put("b", "2");
        s.Put("c", "3");
        s.Delete("b");
        var response = s.Delete("a", "z", prevKv: true);
        Assert.Equal(2, response.Deleted);
        Assert.Equal(["a", "c"], response.PrevKvs.Select(kv => kv.Key.ToStringUtf8()));
        Assert.Equal(["1", "3"], response.PrevKvs.Select(kv => kv.Value.ToStringUtf8()));
        Assert.Equal(6, response.Header.Revision);
        Assert.Equal(0, s.Range(new RangeRequest { Key = B("a"), RangeEnd = B("z") }).Count);
    }

    [Fact]
    public void DeleteFromKeyAndDeleteAll()
    {
        using var s = new TestStore();
        foreach (var key in new[] { "a", "b", "c" })
        {
            s.Put(key, "v");
        }

        Assert.Equal(2, s.Delete("b", "\0").Deleted);
        Assert.Equal("v", s.Value("a"));
        s.Put("z", "v");
        Assert.Equal(2, s.Delete("\0", "\0").Deleted);
    }

    [Fact]
    public void EmptyKeyIsRefusedEverywhere()
    {
        using var s = new TestStore();
        var put = s.TryPut(new PutRequest { Value = B("x") });
        Assert.Equal(KvError.EmptyKey, put.Error);
        Assert.Equal(StatusCode.InvalidArgument, put.Error!.Code);
        Assert.Equal("etcdserver: key is not provided", put.Error.Message);
        Assert.Equal(KvError.EmptyKey, s.Apply(new KvCommand { DeleteRange = new DeleteRangeRequest() }).Error);
        Assert.Equal(KvError.EmptyKey, Assert.Throws<KvException>(() => s.Range(new RangeRequest())).Error);
        Assert.Equal(1, s.Store.Revision);
    }
}
