using Google.Protobuf;
using RaftKv.Etcd.Api;

namespace RaftKv.Kv.Tests;

/// <summary>A store plus a Raft index counter and shorthands for the requests tests send.</summary>
internal sealed class TestStore : IDisposable
{
    private ulong nextIndex = 1;
    private readonly string? directory;

    public TestStore(KvStoreOptions? options = null) => Store = new KvStore(options);

    private readonly int operationsMax;
    private readonly int compactionStepChanges;

    private TestStore(string directory, KvStoreOptions? options, int operationsMax, int compactionStepChanges)
    {
        this.directory = directory;
        this.operationsMax = operationsMax;
        this.compactionStepChanges = compactionStepChanges;
        Store = KvStore.OpenOnDiskWithLimit(directory, options, SmallBackend, operationsMax, compactionStepChanges);
        nextIndex = Store.AppliedIndex + 1;
    }

    /// <summary>Small caches and write buffers: the tests make many stores, none of them large.</summary>
    public static Backend.KvBackendOptions SmallBackend { get; } = new() { BlockCacheSizeBytes = 4 << 20, WriteBufferSizeBytes = 4 << 20, OpenFilesMax = 64 };

    /// <summary>A store on the disk engine, in a fresh temporary directory removed on dispose.</summary>
    /// <remarks>
    /// <paramref name="compactionStepChanges"/> bounds the changes one compaction step visits: small, a compaction
    /// goes on over later entries (<see cref="Step"/>) instead of finishing in its own.
    /// </remarks>
    public static TestStore OnDisk(KvStoreOptions? options = null, int operationsMax = Engine.DiskApplyState.OperationsMax, int compactionStepChanges = Engine.DiskApplyState.ChangesPerStep) =>
        new(Path.Combine(Path.GetTempPath(), "raftkv-kv-" + Guid.NewGuid().ToString("N")), options, operationsMax, compactionStepChanges);

    /// <summary>Changes per compaction step of the "disk-stepped" engine: compactions of more go on in later entries.</summary>
    public const int SteppedCompactionChanges = 2;

    /// <summary>Makes a store of the named engine ("memory", "disk", or "disk-stepped": compactions carried out in steps of <see cref="SteppedCompactionChanges"/> changes).</summary>
    public static TestStore Of(string engine, KvStoreOptions? options = null) => engine switch
    {
        "memory" => new TestStore(options),
        "disk" => OnDisk(options),
        "disk-stepped" => OnDisk(options, compactionStepChanges: SteppedCompactionChanges),
        _ => throw new ArgumentOutOfRangeException(nameof(engine), engine, "memory, disk or disk-stepped"),
    };

    /// <summary>Applies one compaction step (a no-op in memory, and when no compaction is pending).</summary>
    public ApplyResult Step() => Apply(new KvCommand { CompactionStep = new CompactionStep() });

    /// <summary>Applies compaction steps until no compaction is pending, at most <paramref name="stepsMax"/>; how many it took.</summary>
    public int FinishCompaction(int stepsMax = 100_000)
    {
        var steps = 0;
        while (Store.CompactionPending)
        {
            Assert.True(steps++ < stepsMax, $"a compaction was still pending after {stepsMax} steps");
            Assert.Null(Step().Error);
        }

        return steps;
    }

    public bool IsOnDisk => directory is not null;

    /// <summary>Disk engine: closes the store and opens its directory again, as a restarted member does.</summary>
    public void Reopen()
    {
        var path = directory ?? throw new InvalidOperationException("only a disk store can be reopened");
        var options = Store.Options;
        Store.Dispose();
        Store = KvStore.OpenOnDiskWithLimit(path, options, SmallBackend, operationsMax, compactionStepChanges);
        Assert.Equal(nextIndex - 1, Store.AppliedIndex);
    }

    public TestStore(KvStore store)
    {
        Store = store;
        nextIndex = store.AppliedIndex + 1;
    }

    public KvStore Store { get; private set; }

    public static ByteString B(string text) => ByteString.CopyFromUtf8(text);

    public ApplyResult Apply(KvCommand command) => Store.Apply(nextIndex++, command);

    public ApplyResult ApplyBytes(byte[] bytes) => Store.Apply(nextIndex++, bytes);

    /// <summary>Sets the cluster record as the next entry; true when the store took it.</summary>
    public bool SetClusterRecord(byte[] record) => Store.SetClusterRecordIfNew(nextIndex++, record);

    public PutResponse Put(string key, string value, long lease = 0) => Ok(Apply(new KvCommand { Put = new PutRequest { Key = B(key), Value = B(value), Lease = lease } })).Put!;

    public ApplyResult TryPut(PutRequest request) => Apply(new KvCommand { Put = request });

    public ApplyResult TryGrant(long id, long ttlSeconds = 60) => Apply(new KvCommand { LeaseGrant = new LeaseGrantRequest { ID = id, TTL = ttlSeconds } });

    /// <summary>Grants each lease with a 60 s TTL (the store keeps no clock: nothing expires in these tests).</summary>
    public void Grant(params long[] ids)
    {
        foreach (var id in ids)
        {
            Ok(TryGrant(id));
        }
    }

    public ApplyResult TryRevoke(long id) => Apply(new KvCommand { LeaseRevoke = new LeaseRevokeRequest { ID = id } });

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

    /// <summary>Snapshots the store and continues on the restored copy (the disk engine installs it in place, as a follower does).</summary>
    public void SnapshotAndRestore()
    {
        using var buffer = new MemoryStream();
        Store.WriteSnapshot(buffer);
        buffer.Position = 0;
        if (IsOnDisk)
        {
            Store.ReplaceWith(buffer);
            return;
        }

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

    public void Dispose()
    {
        Store.Dispose();
        if (directory is not null && Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
