using Google.Protobuf;
using RaftKv.Etcd.Api;

namespace RaftKv.Server.Concurrency;

/// <summary>The key-value requests clientv3/concurrency sends for locks and elections, built the same way here.</summary>
public static class OwnerRequests
{
    /// <summary>The first contender under <paramref name="prefix"/>: smallest create revision (clientv3's WithFirstCreate).</summary>
    public static RangeRequest First(ByteString prefix) => new()
    {
        Key = prefix, RangeEnd = OwnerKeys.PrefixEnd(prefix), Limit = 1,
        SortTarget = RangeRequest.Types.SortTarget.Create, SortOrder = RangeRequest.Types.SortOrder.Ascend,
    };

    /// <summary>
    /// The last contender created before <paramref name="ownRevision"/> (WithLastCreate and WithMaxCreateRev): the
    /// one a waiter waits for, so each deletion wakes one waiter, not all of them.
    /// </summary>
    public static RangeRequest LastBefore(ByteString prefix, long ownRevision) => new()
    {
        Key = prefix, RangeEnd = OwnerKeys.PrefixEnd(prefix), Limit = 1, MaxCreateRevision = ownRevision - 1,
        SortTarget = RangeRequest.Types.SortTarget.Create, SortOrder = RangeRequest.Types.SortOrder.Descend,
    };

    /// <summary>
    /// Enters the contest: if <paramref name="key"/> does not exist, put it with the value and lease, else read it
    /// (the lease contends already: the same acquisition). <paramref name="alsoFirst"/> adds a read of the first
    /// contender to both branches, which spares an uncontended lock a second round trip.
    /// </summary>
    public static TxnRequest Enter(ByteString key, ByteString value, long lease, ByteString? alsoFirst)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(CreatedAt(key, 0));
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = value, Lease = lease } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
        if (alsoFirst is not null)
        {
            txn.Success.Add(new RequestOp { RequestRange = First(alsoFirst) });
            txn.Failure.Add(new RequestOp { RequestRange = First(alsoFirst) });
        }
        return txn;
    }

    /// <summary>If <paramref name="key"/> was created at <paramref name="revision"/>, put <paramref name="value"/> keeping its lease.</summary>
    public static TxnRequest Proclaim(ByteString key, long revision, ByteString value)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(CreatedAt(key, revision));
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = value, IgnoreLease = true } });
        return txn;
    }

    /// <summary>If <paramref name="key"/> was created at <paramref name="revision"/>, delete it.</summary>
    public static TxnRequest Resign(ByteString key, long revision)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(CreatedAt(key, revision));
        txn.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = key } });
        return txn;
    }

    /// <summary>Reads, at one revision, the last contender before <paramref name="ownRevision"/> and the caller's own key.</summary>
    public static TxnRequest Predecessor(ByteString prefix, ByteString key, long ownRevision)
    {
        var txn = new TxnRequest();
        txn.Success.Add(new RequestOp { RequestRange = LastBefore(prefix, ownRevision) });
        txn.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = key, CountOnly = true } });
        return txn;
    }

    private static Compare CreatedAt(ByteString key, long revision) => new()
    {
        Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = revision,
    };
}
