using Google.Protobuf;
using Grpc.Core;
using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

public sealed class ValidationTests
{
    private static readonly KvRequestValidator Validator = new(new KvStoreOptions());

    [Fact]
    public void ErrorsCarryEtcdsCodesAndMessages()
    {
        var expected = new (KvError Error, StatusCode Code, string Message)[]
        {
            (KvError.EmptyKey, StatusCode.InvalidArgument, "etcdserver: key is not provided"),
            (KvError.KeyNotFound, StatusCode.InvalidArgument, "etcdserver: key not found"),
            (KvError.TooManyOps, StatusCode.InvalidArgument, "etcdserver: too many operations in txn request"),
            (KvError.DuplicateKey, StatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request"),
            (KvError.InvalidSortOption, StatusCode.InvalidArgument, "etcdserver: invalid sort option"),
            (KvError.Compacted, StatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted"),
            (KvError.FutureRevision, StatusCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision"),
            (KvError.NoSpace, StatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded"),
            (KvError.LeaseNotFound, StatusCode.NotFound, "etcdserver: requested lease not found"),
            (KvError.RequestTooLarge, StatusCode.InvalidArgument, "etcdserver: request is too large"),
            (KvError.NoLeader, StatusCode.Unavailable, "etcdserver: no leader"),
            (KvError.Corrupt, StatusCode.DataLoss, "etcdserver: corrupt cluster"),
        };
        foreach (var (error, code, message) in expected)
        {
            Assert.Equal(code, error.Code);
            Assert.Equal(message, error.Message);
            var rpc = error.ToRpcException();
            Assert.Equal((code, message), (rpc.StatusCode, rpc.Status.Detail));
        }
    }

    [Fact]
    public void OversizeRequestsAreRefusedBeforeProposing()
    {
        var validator = new KvRequestValidator(new KvStoreOptions { MaxRequestBytes = 1024 });
        var big = new KvCommand { Put = new PutRequest { Key = B("k"), Value = ByteString.CopyFrom(new byte[1024]) } };
        Assert.Equal(KvError.RequestTooLarge, validator.Validate(big));
        Assert.Null(validator.Validate(new KvCommand { Put = new PutRequest { Key = B("k"), Value = ByteString.CopyFrom(new byte[900]) } }));

        // Bad input is reported as such before its size.
        Assert.Equal(KvError.EmptyKey, validator.Validate(new KvCommand { Put = new PutRequest { Value = ByteString.CopyFrom(new byte[2000]) } }));
        Assert.Equal(3L * 512 * 1024, new KvStoreOptions().MaxRequestBytes);
    }

    [Fact]
    public void DefaultLimitAcceptsOnePointFiveMebibytes()
    {
        var justUnder = new KvCommand { Put = new PutRequest { Key = B("k"), Value = ByteString.CopyFrom(new byte[(3 * 512 * 1024) - 16]) } };
        Assert.Null(Validator.Validate(justUnder));
        var over = new KvCommand { Put = new PutRequest { Key = B("k"), Value = ByteString.CopyFrom(new byte[3 * 512 * 1024]) } };
        Assert.Equal(KvError.RequestTooLarge, Validator.Validate(over));
    }

    [Fact]
    public void UnknownSortOptionsAreRefused()
    {
        Assert.Equal(KvError.InvalidSortOption, KvRequestValidator.ValidateRange(new RangeRequest { Key = B("a"), SortOrder = (RangeRequest.Types.SortOrder)5 }));
        Assert.Equal(KvError.InvalidSortOption, KvRequestValidator.ValidateRange(new RangeRequest { Key = B("a"), SortTarget = (RangeRequest.Types.SortTarget)5 }));
        Assert.Equal(KvError.EmptyKey, KvRequestValidator.ValidateRange(new RangeRequest { SortTarget = (RangeRequest.Types.SortTarget)5 }));
    }

    [Fact]
    public void EmptyAndMalformedCommandsChangeNothingButTheAppliedIndex()
    {
        using var s = new TestStore();
        var empty = s.Apply(new KvCommand { RequestId = 42 });
        Assert.Equal(KvError.EmptyCommand, empty.Error);
        Assert.Equal(42UL, empty.RequestId);
        Assert.Equal(KvError.EmptyCommand, Validator.Validate(new KvCommand()));
        var garbage = s.ApplyBytes([0xff, 0xff, 0xff, 0xff]);
        Assert.Equal(KvError.MalformedCommand, garbage.Error);
        Assert.Equal(1, s.Store.Revision);
        Assert.Equal(2UL, s.Store.AppliedIndex);
    }

    [Fact]
    public void CommandsRoundTripThroughBytes()
    {
        using var s = new TestStore();
        var command = new KvCommand { RequestId = 7, Put = new PutRequest { Key = B("a"), Value = B("1"), PrevKv = true } };
        var result = s.ApplyBytes(command.ToByteArray());
        Assert.Equal(7UL, result.RequestId);
        Assert.Equal(1UL, result.RaftIndex);
        Assert.Equal(2, result.Revision);
        Assert.Equal("1", s.Value("a"));
    }

    [Fact]
    public void RangeThroughTheLogReadsTheCurrentState()
    {
        using var s = new TestStore();
        s.Put("a", "1");
        var result = Ok(s.Apply(new KvCommand { Range = new RangeRequest { Key = B("a") } }));
        Assert.Equal("1", result.Range!.Kvs[0].Value.ToStringUtf8());
        Assert.Equal(KvError.FutureRevision, s.Apply(new KvCommand { Range = new RangeRequest { Key = B("a"), Revision = 5 } }).Error);
    }

    [Fact]
    public void DeeplyNestedTxnsAreRefused()
    {
        var txn = new TxnRequest { Success = { GetOp("a") } };
        for (var i = 0; i < KvRequestValidator.MaxTxnDepth; i++)
        {
            txn = new TxnRequest { Success = { TxnOp(txn) } };
        }

        Assert.Equal(KvError.TooManyOps, new KvRequestValidator(new KvStoreOptions { MaxTxnOps = 1000 }).Validate(new KvCommand { Txn = txn }));
    }

    [Fact]
    public void OptionsRejectNonsense()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvStore(new KvStoreOptions { MaxRequestBytes = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvStore(new KvStoreOptions { MaxTxnOps = -1 }));
    }
}
