using Google.Protobuf;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;
using CompareResult = RaftKv.Etcd.Api.Compare.Types.CompareResult;
using CompareTarget = RaftKv.Etcd.Api.Compare.Types.CompareTarget;

namespace RaftKv.Kv.Tests;

public sealed class TxnTests
{
    private static Compare Cmp(string key, CompareTarget target, CompareResult result, long number = 0, string? value = null, string? rangeEnd = null)
    {
        var compare = new Compare { Key = B(key), Target = target, Result = result };
        switch (target)
        {
            case CompareTarget.Value: compare.Value = B(value ?? ""); break;
            case CompareTarget.Version: compare.Version = number; break;
            case CompareTarget.Create: compare.CreateRevision = number; break;
            case CompareTarget.Mod: compare.ModRevision = number; break;
            case CompareTarget.Lease: compare.Lease = number; break;
        }

        if (rangeEnd is not null)
        {
            compare.RangeEnd = B(rangeEnd);
        }

        return compare;
    }

    private static bool Holds(TestStore s, Compare compare) =>
        s.Txn(new TxnRequest { Compare = { compare } }).Succeeded;

    [Theory]
    [InlineData(CompareTarget.Version, 2L, CompareResult.Equal, true)]
    [InlineData(CompareTarget.Version, 2L, CompareResult.NotEqual, false)]
    [InlineData(CompareTarget.Version, 1L, CompareResult.Greater, true)]
    [InlineData(CompareTarget.Version, 3L, CompareResult.Less, true)]
    [InlineData(CompareTarget.Create, 2L, CompareResult.Equal, true)]
    [InlineData(CompareTarget.Create, 3L, CompareResult.Less, true)]
    [InlineData(CompareTarget.Mod, 3L, CompareResult.Equal, true)]
    [InlineData(CompareTarget.Mod, 3L, CompareResult.Greater, false)]
    [InlineData(CompareTarget.Lease, 5L, CompareResult.Equal, true)]
    [InlineData(CompareTarget.Lease, 0L, CompareResult.NotEqual, true)]
    public void NumericComparesOnAKey(CompareTarget target, long operand, CompareResult result, bool expected)
    {
        using var s = new TestStore();
        s.Grant(5);
        s.Put("k", "v1", lease: 5); // 2
        s.Put("k", "v2", lease: 5); // 3: version 2, create 2, mod 3
        Assert.Equal(expected, Holds(s, Cmp("k", target, result, operand)));
    }

    [Fact]
    public void ValueComparesAreBytewise()
    {
        using var s = new TestStore();
        s.Put("k", "b");
        Assert.True(Holds(s, Cmp("k", CompareTarget.Value, CompareResult.Equal, value: "b")));
        Assert.True(Holds(s, Cmp("k", CompareTarget.Value, CompareResult.Greater, value: "a")));
        Assert.True(Holds(s, Cmp("k", CompareTarget.Value, CompareResult.Less, value: "ba")));
        Assert.True(Holds(s, Cmp("k", CompareTarget.Value, CompareResult.NotEqual, value: "c")));
    }

    [Fact]
    public void MissingKeyComparesAsZeroButValueComparesFail()
    {
        using var s = new TestStore();
        Assert.True(Holds(s, Cmp("none", CompareTarget.Version, CompareResult.Equal, 0)));
        Assert.True(Holds(s, Cmp("none", CompareTarget.Create, CompareResult.Equal, 0)));
        Assert.True(Holds(s, Cmp("none", CompareTarget.Mod, CompareResult.Less, 1)));
        Assert.False(Holds(s, Cmp("none", CompareTarget.Value, CompareResult.Equal, value: "")));
        Assert.False(Holds(s, Cmp("none", CompareTarget.Value, CompareResult.NotEqual, value: "x")));
    }

    [Fact]
    public void RangeComparesNeedEveryKeyToHold()
    {
        using var s = new TestStore();
        s.Put("p/a", "1");
        s.Put("p/b", "1");
        s.Put("p/c", "2");
        Assert.True(Holds(s, Cmp("p/", CompareTarget.Version, CompareResult.Equal, 1, rangeEnd: "p0")));
        Assert.False(Holds(s, Cmp("p/", CompareTarget.Value, CompareResult.Equal, value: "1", rangeEnd: "p0")));
        Assert.True(Holds(s, Cmp("p/a", CompareTarget.Value, CompareResult.Equal, value: "1", rangeEnd: "p/c")));
        Assert.True(Holds(s, Cmp("q/", CompareTarget.Create, CompareResult.Equal, 0, rangeEnd: "q0")));
    }

    [Fact]
    public void CasTakesTheRightBranch()
    {
        using var s = new TestStore();
        s.Put("lock", "owner-1");
        var lost = s.Txn(new TxnRequest
        {
            Compare = { Cmp("lock", CompareTarget.Create, CompareResult.Equal, 0) },
            Success = { PutOp("lock", "owner-2") },
            Failure = { GetOp("lock") },
        });
        Assert.False(lost.Succeeded);
        Assert.Equal("owner-1", lost.Responses.Single().ResponseRange.Kvs[0].Value.ToStringUtf8());
        Assert.Equal(2, lost.Header.Revision);
        var won = s.Txn(new TxnRequest
        {
            Compare = { Cmp("lock", CompareTarget.Value, CompareResult.Equal, value: "owner-1") },
            Success = { PutOp("lock", "owner-2"), GetOp("lock") },
        });
        Assert.True(won.Succeeded);
        Assert.Equal(3, won.Responses[0].ResponsePut.Header.Revision);
        var read = won.Responses[1].ResponseRange;
        Assert.Equal(("owner-2", 3L), (read.Kvs[0].Value.ToStringUtf8(), read.Header.Revision));
    }

    [Fact]
    public void NestedTxnsDecideOnTheStateBeforeTheTxn()
    {
        using var s = new TestStore();
        s.Put("x", "1"); // 2
        var inner = new TxnRequest
        {
            // Evaluated before the outer put of y, as etcd evaluates every guard up front.
            Compare = { Cmp("y", CompareTarget.Version, CompareResult.Equal, 0) },
            Success = { PutOp("z", "inner-then") },
            Failure = { PutOp("z", "inner-else") },
        };
        var txn = s.Txn(new TxnRequest
        {
            Compare = { Cmp("x", CompareTarget.Value, CompareResult.Equal, value: "1") },
            Success = { PutOp("y", "outer"), TxnOp(inner), GetOp("z") },
        });
        Assert.True(txn.Succeeded);
        var nested = txn.Responses[1].ResponseTxn;
        Assert.True(nested.Succeeded);
        Assert.Equal(0, nested.Header.Revision); // etcd leaves nested headers empty
        Assert.Equal("inner-then", txn.Responses[2].ResponseRange.Kvs[0].Value.ToStringUtf8());
        Assert.Equal(3, s.Store.Revision);
    }

    [Fact]
    public void DuplicateWritesInATxnAreRefused()
    {
        static KvError? Check(TxnRequest txn) => new KvRequestValidator(new KvStoreOptions()).Validate(new KvCommand { Txn = txn });

        Assert.Equal(KvError.DuplicateKey, Check(new TxnRequest { Success = { PutOp("a", "1"), PutOp("a", "2") } }));
        Assert.Equal(KvError.DuplicateKey, Check(new TxnRequest { Success = { DeleteOp("a", "c"), PutOp("b", "2") } }));
        Assert.Equal(KvError.DuplicateKey, Check(new TxnRequest { Failure = { PutOp("a", "1"), TxnOp(new TxnRequest { Success = { PutOp("a", "2") } }) } }));
        Assert.Equal(KvError.DuplicateKey, Check(new TxnRequest { Success = { PutOp("b", "1"), TxnOp(new TxnRequest { Failure = { DeleteOp("a", "z") } }) } }));
        Assert.Equal("etcdserver: duplicate key given in txn request", KvError.DuplicateKey.Message);

        Assert.Null(Check(new TxnRequest { Success = { DeleteOp("a", "z"), DeleteOp("b", "c") } })); // deletes may overlap
        Assert.Null(Check(new TxnRequest { Success = { PutOp("a", "1") }, Failure = { PutOp("a", "2") } }));
        Assert.Null(Check(new TxnRequest { Success = { TxnOp(new TxnRequest { Success = { PutOp("a", "1") }, Failure = { PutOp("a", "2") } }) } }));
        Assert.Null(Check(new TxnRequest { Success = { PutOp("a", "1"), DeleteOp("b", "c") } }));
    }

    [Fact]
    public void DuplicateTxnInTheLogChangesNothing()
    {
        using var s = new TestStore();
        var result = s.TryTxn(new TxnRequest { Success = { PutOp("a", "1"), PutOp("a", "2") } });
        Assert.Equal(KvError.DuplicateKey, result.Error);
        Assert.Equal(1, s.Store.Revision);
        Assert.Empty(result.Events);
    }

    [Fact]
    public void TooManyOpsUsesEtcdsBudget()
    {
        var validator = new KvRequestValidator(new KvStoreOptions { MaxTxnOps = 3 });
        var four = new TxnRequest { Success = { GetOp("a"), GetOp("b"), GetOp("c"), GetOp("d") } };
        Assert.Equal(KvError.TooManyOps, validator.Validate(new KvCommand { Txn = four }));
        var nested = new TxnRequest { Success = { GetOp("a"), TxnOp(new TxnRequest { Success = { GetOp("b"), GetOp("c") } }) } };
        Assert.Equal(KvError.TooManyOps, validator.Validate(new KvCommand { Txn = nested })); // 3 - 2 leaves 1 for the nested txn
        Assert.Null(validator.Validate(new KvCommand { Txn = new TxnRequest { Success = { GetOp("a"), TxnOp(new TxnRequest { Success = { GetOp("b") } }) } } }));
        Assert.Equal("etcdserver: too many operations in txn request", KvError.TooManyOps.Message);
    }

    [Fact]
    public void EmptyOperationAndBadComparesAreRefused()
    {
        using var s = new TestStore();
        Assert.Equal(KvError.KeyNotFound, s.TryTxn(new TxnRequest { Success = { new RequestOp() } }).Error);
        Assert.Equal(KvError.EmptyKey, s.TryTxn(new TxnRequest { Compare = { new Compare() } }).Error);
        Assert.Equal(KvError.InvalidCompare, s.TryTxn(new TxnRequest { Compare = { new Compare { Key = B("a"), Target = (CompareTarget)9 } } }).Error);
        Assert.Equal(KvError.InvalidCompare, s.TryTxn(new TxnRequest { Compare = { new Compare { Key = B("a"), Result = (CompareResult)9 } } }).Error);
        Assert.Equal(KvError.EmptyKey, s.TryTxn(new TxnRequest { Failure = { PutOp("", "x") } }).Error);
        Assert.Equal(KvError.InvalidSortOption, s.TryTxn(new TxnRequest { Success = { new RequestOp { RequestRange = new RangeRequest { Key = B("a"), SortOrder = (RangeRequest.Types.SortOrder)7 } } } }).Error);
        Assert.Equal(1, s.Store.Revision);
    }

    [Fact]
    public void FailedChecksLeaveTheWholeTxnUnapplied()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        var ignoreMissing = s.TryTxn(new TxnRequest
        {
            Success = { PutOp("b", "2"), new RequestOp { RequestPut = new PutRequest { Key = B("c"), IgnoreValue = true } } },
        });
        Assert.Equal(KvError.KeyNotFound, ignoreMissing.Error);
        var future = s.TryTxn(new TxnRequest { Success = { PutOp("b", "2"), GetOp("a", revision: 99) } });
        Assert.Equal(KvError.FutureRevision, future.Error);
        Assert.Equal(2, s.Store.Revision);
        Assert.Null(s.Value("b"));
    }

    [Fact]
    public void TxnRangeChecksFollowEtcd()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        s.Put("a", "2"); // 3
        s.Compact(3);
        Assert.Equal(KvError.Compacted, s.TryTxn(new TxnRequest { Success = { GetOp("a", revision: 2) } }).Error);
        Assert.Equal(KvError.Compacted, s.TryTxn(new TxnRequest { Success = { GetOp("a", revision: -5) } }).Error);
        Assert.Equal("2", s.Txn(new TxnRequest { Success = { GetOp("a", revision: 3) } }).Responses[0].ResponseRange.Kvs[0].Value.ToStringUtf8());
    }

    [Fact]
    public void ReadOnlyTxnIsServedWithoutTheLog()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        var txn = s.Store.ReadOnlyTxn(new TxnRequest
        {
            Compare = { Cmp("a", CompareTarget.Version, CompareResult.Equal, 1) },
            Success = { GetOp("a") },
        });
        Assert.True(txn.Succeeded);
        Assert.Equal(2, txn.Header.Revision);
        Assert.True(KvRequestValidator.IsReadOnly(new TxnRequest { Success = { GetOp("a") } }));
        Assert.False(KvRequestValidator.IsReadOnly(new TxnRequest { Failure = { TxnOp(new TxnRequest { Success = { DeleteOp("a") } }) } }));
        Assert.Throws<ArgumentException>(() => s.Store.ReadOnlyTxn(new TxnRequest { Failure = { PutOp("a", "2") } }));
        Assert.Equal(KvError.FutureRevision, Assert.Throws<KvException>(() => s.Store.ReadOnlyTxn(new TxnRequest { Success = { GetOp("a", 9) } })).Error);
    }

    [Fact]
    public void DeleteInsideTxnReportsRevisionLikeEtcd()
    {
        using var s = new TestStore();
        s.Put("a", "1"); // 2
        var nothing = s.Txn(new TxnRequest { Success = { DeleteOp("zz") } });
        Assert.Equal(2, nothing.Responses[0].ResponseDeleteRange.Header.Revision);
        Assert.Equal(2, nothing.Header.Revision);
        var some = s.Txn(new TxnRequest { Success = { DeleteOp("a"), DeleteOp("a"), GetOp("a") } });
        Assert.Equal(1, some.Responses[0].ResponseDeleteRange.Deleted);
        Assert.Equal(0, some.Responses[1].ResponseDeleteRange.Deleted); // already gone in this txn
        Assert.Equal(3, some.Responses[1].ResponseDeleteRange.Header.Revision);
        Assert.Empty(some.Responses[2].ResponseRange.Kvs);
        Assert.Equal(3, some.Header.Revision);
    }

    [Fact]
    public void ValuesAreCopiedNotAliased()
    {
        using var s = new TestStore();
        var bytes = new byte[] { 1, 2, 3 };
        s.ApplyBytes(new KvCommand { Put = new PutRequest { Key = B("a"), Value = ByteString.CopyFrom(bytes) } }.ToByteArray());
        bytes[0] = 9;
        Assert.Equal(1, s.Get("a").Kvs[0].Value[0]);
    }
}
