using Google.Protobuf;
using RaftKv.Etcd.Api;

namespace RaftKv.Kv.Tests;

/// <summary>A store plus a Raft index counter and shorthands for the requests tests send.</summary>
internal sealed class TestStore : IDisposable
{
    private ulong nextIndex = 1;

    public TestStore(KvStoreOptions? options = null) => Store = new KvStore(options);

    public TestStore(KvStore store)
    {
        Store = store;
        nextIndex = store.AppliedIndex + 1;
    }

    public KvStore Store { get; private set; }

    public static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    public ApplyResult Apply(KvCommand command) => Store.Apply(nextIndex++, command);

    public ApplyResult ApplyBytes(byte[] bytes) => Store.Apply(nextIndex++, bytes);

    public PutResponse Put(string key, string value, long lease = 0) => Ok(Apply(new KvCommand { Put = new PutRequest { Key = B(key), Value = B(value), Lease = lease } })).Put!;

    public ApplyResult TryPut(PutRequest request) => Apply(new KvCommand { Put = request });

    public DeleteRangeResponse Delete(string key, string? rangeEnd = null, bool prevKv = false) =>
        Ok(Apply(new KvCommand { DeleteRange = new DeleteRangeRequest { Key = B(key), RangeEnd = rangeEnd is null ? ByteString.Empty : B(rangeEnd), PrevKv = prevKv } })).DeleteRange!;

    public ApplyResult TryTxn(TxnRequest txn) => Apply(new KvCommand { Txn = txn });

    public TxnResponse Txn(TxnRequest txn) => Ok(TryTxn(txn)).Txn!;

    public ApplyResult TryCompact(long revision) => Apply(new KvCommand { Compaction = new CompactionRequest { Revision = revision } });

    public void Compact(long revision) => Ok(TryCompact(revision));

    public RangeResponse Range(RangeRequest request) => Store.Range(request);

    public RangeResponse Get(string key, long revision = 0) => Store.Range(new RangeRequest { Key = B(key), Revision = revision });

    public RangeResponse Prefix(string prefix, long limit = 0) =>
        Store.Range(new RangeRequest { Key = B(prefix), RangeEnd = KeyRanges.PrefixEnd(B(prefix).Span), Limit = limit });

    public string? Value(string key, long revision = 0)
    {
        var response = Get(key, revision);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
    }

    /// <summary>Snapshots the store and continues on the restored copy.</summary>
    public void SnapshotAndRestore()
    {
        using var buffer = new MemoryStream();
        Store.WriteSnapshot(buffer);
        buffer.Position = 0;
        var restored = KvStore.Restore(buffer, Store.Options);
        Store.Dispose();
        Store = restored;
    }

    public static ApplyResult Ok(ApplyResult result)
    {
        Assert.True(result.Succeeded, $"expected success, got {result.Error}");
        return result;
    }

    public static RequestOp PutOp(string key, string value) => new() { RequestPut = new PutRequest { Key = B(key), Value = B(value) } };

    public static RequestOp GetOp(string key, long revision = 0) => new() { RequestRange = new RangeRequest { Key = B(key), Revision = revision } };

    public static RequestOp DeleteOp(string key, string? rangeEnd = null) =>
        new() { RequestDeleteRange = new DeleteRangeRequest { Key = B(key), RangeEnd = rangeEnd is null ? ByteString.Empty : B(rangeEnd) } };

    public static RequestOp TxnOp(TxnRequest txn) => new() { RequestTxn = txn };

    public void Dispose() => Store.Dispose();
}
