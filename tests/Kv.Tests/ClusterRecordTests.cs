using System.Text;
using RaftKv.Etcd.Api;
using RaftKv.Kv.Backend;
using RaftKv.Kv.Engine;
using RaftKv.Kv.Mvcc;
using RaftKv.Kv.Snapshots;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

/// <summary>
/// The opaque cluster record (<see cref="KvStore.ClusterRecord"/>): set only as the whole effect of an entry, kept
/// with the applied index on both engines, through restarts and snapshots, and outside the KV content.
/// </summary>
public sealed class ClusterRecordTests
{
    private static readonly RangeRequest All = new() { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd };

    private static byte[] Record(string text) => Encoding.UTF8.GetBytes(text);

    private static void AssertRecord(string expected, KvStore store) => Assert.Equal(expected, Encoding.UTF8.GetString(store.ClusterRecord.Span));

    // A few keys, a deleted one and a lease, so there is content for the record to stay out of.
    private static void Populate(TestStore s)
    {
        s.Grant(1);
        s.Put("a", "1");
        s.Put("b", "2", lease: 1);
        s.Put("a", "3");
        s.Delete("b");
    }

    // A populated store of the engine whose last entry set the record.
    private static TestStore PopulatedWith(string engine, string record)
    {
        var s = Of(engine);
        Populate(s);
        Assert.True(s.SetClusterRecord(Record(record)));
        return s;
    }

    // What write puts into a fresh buffer, rewound for reading.
    private static MemoryStream Written(Action<Stream> write)
    {
        var buffer = new MemoryStream();
        write(buffer);
        buffer.Position = 0;
        return buffer;
    }

    // Installs the leader's disk snapshot stream on the follower (ReceiveSnapshot, as a follower of the server does).
    private static ulong Install(TestStore leader, TestStore follower)
    {
        using var stream = Written(leader.Store.WriteSnapshot);
        return follower.Store.ReceiveSnapshot(stream, CancellationToken.None);
    }

    // Everything but the record and the applied index: what setting a record must leave alone.
    private static (long Revision, long CompactRevision, long SizeBytes, long VersionCount, uint HashKV, int Events, RangeResponse All) Content(KvStore store) =>
        (store.Revision, store.CompactRevision, store.SizeBytes, store.VersionCount, store.HashKV(0).Hash,
            store.ReadEvents(1, 1000).Events.Count, store.Range(All));

    // Everything, the record and the applied index included: what a refused set must leave alone.
    private static (object Content, ulong AppliedIndex, uint Hash, string Record) Whole(KvStore store) =>
        (Content(store), store.AppliedIndex, store.Hash().Hash, Encoding.UTF8.GetString(store.ClusterRecord.Span));

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void ARecordIsTheWholeEffectOfItsEntry(string engine)
    {
        using var s = Of(engine);
        Populate(s);
        Assert.True(s.Store.ClusterRecord.IsEmpty);
        var before = Content(s.Store);
        var hashBefore = s.Store.Hash().Hash;
        var index = s.Store.AppliedIndex + 1;

        Assert.True(s.SetClusterRecord(Record("members: one")));

        AssertRecord("members: one", s.Store);
        Assert.Equal(index, s.Store.AppliedIndex);
        Assert.Equal(before, Content(s.Store)); // revision, size, HashKV, events and keys unchanged
        Assert.Empty(s.Store.ReadEvents(before.Revision + 1, 1000).Events);

        // Hash covers the whole state, the record included (as etcd's covers the members bucket): a twin at the same
        // applied index without the record hashes otherwise.
        using var twin = Of(engine);
        Populate(twin);
        Assert.Equal(hashBefore, twin.Store.Hash().Hash);
        Assert.True(twin.Store.MarkAppliedIfNew(index));
        Assert.NotEqual(twin.Store.Hash().Hash, s.Store.Hash().Hash);
        s.Store.CheckInvariants();
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void ARecordStaysThroughLaterEntriesUntilTheNextOneReplacesIt(string engine)
    {
        using var s = Of(engine);
        Assert.True(s.SetClusterRecord(Record("first")));
        Populate(s);
        s.Compact(s.Store.Revision);
        AssertRecord("first", s.Store);

        Assert.True(s.SetClusterRecord(Record("second")));
        AssertRecord("second", s.Store);
        Assert.True(s.SetClusterRecord([]));
        Assert.True(s.Store.ClusterRecord.IsEmpty);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("disk")]
    public void ARefusedSetChangesNothing(string engine)
    {
        using var s = PopulatedWith(engine, "kept");
        var held = s.Store.AppliedIndex;
        var before = Whole(s.Store);

        // An index the store holds already: replayed after a restart, or overtaken by a snapshot.
        Assert.False(s.Store.SetClusterRecordIfNew(held, Record("replayed")));
        Assert.False(s.Store.SetClusterRecordIfNew(held - 1, Record("older")));
        Assert.False(s.Store.SetClusterRecordIfNew(0, []));
        Assert.Equal(before, Whole(s.Store));

        // A record past the limit, at a new index.
        var error = Assert.Throws<ArgumentException>(() => s.Store.SetClusterRecordIfNew(held + 1, new byte[KvStore.ClusterRecordMaxBytes + 1]));
        Assert.Equal("record", error.ParamName);
        Assert.Equal(before, Whole(s.Store));

        // The limit itself is allowed, and kept byte for byte.
        var largest = new byte[KvStore.ClusterRecordMaxBytes];
        Random.Shared.NextBytes(largest);
        Assert.True(s.Store.SetClusterRecordIfNew(held + 1, largest));
        Assert.Equal(largest, s.Store.ClusterRecord.ToArray());
    }

    [Fact]
    public void TheStoreKeepsItsOwnCopyOfTheRecord()
    {
        using var s = new TestStore();
        var record = Record("mine");
        Assert.True(s.SetClusterRecord(record));
        record[0] = (byte)'X';
        AssertRecord("mine", s.Store);
    }

    [Fact]
    public void ARecordOnDiskSurvivesARestart()
    {
        using var s = OnDisk();
        Populate(s);
        Assert.True(s.SetClusterRecord(Record("before restart")));
        s.Put("after", "record"); // a later entry rewrites the scalars, not the record
        s.Reopen();
        AssertRecord("before restart", s.Store);

        Assert.True(s.SetClusterRecord([]));
        s.Reopen();
        Assert.True(s.Store.ClusterRecord.IsEmpty);
    }

    [Fact]
    public void AMemorySnapshotCarriesTheRecord()
    {
        using var s = PopulatedWith("memory", "in the snapshot");
        var snapshot = s.Store.CaptureSnapshot();
        Assert.True(s.SetClusterRecord(Record("after the capture")));

        using var buffer = Written(snapshot.WriteTo);
        Assert.Equal(buffer.Length, snapshot.EstimatedBytes); // the estimate counts the record
        using var restored = KvStore.Restore(buffer);
        AssertRecord("in the snapshot", restored);
        Assert.Equal(snapshot.AppliedIndex, restored.AppliedIndex);
        restored.CheckInvariants();

        // ReplaceWith reads it back too, and takes an empty record from a snapshot that has none.
        using var other = new TestStore();
        Assert.True(other.SetClusterRecord(Record("replaced")));
        buffer.Position = 0;
        other.Store.ReplaceWith(buffer);
        AssertRecord("in the snapshot", other.Store);
        using var none = new KvStore();
        using var empty = Written(none.WriteSnapshot);
        other.Store.ReplaceWith(empty);
        Assert.True(other.Store.ClusterRecord.IsEmpty);
    }

    [Fact]
    public void TheDiskSnapshotStreamCarriesTheMetaSpaceRecord()
    {
        using var leader = PopulatedWith("disk", "from the leader");
        leader.Put("c", "after the record");

        // The follower has a record of its own, at a lower index: the installed state replaces it whole.
        using var follower = OnDisk();
        Assert.True(follower.SetClusterRecord(Record("the follower's")));
        Assert.Equal(leader.Store.AppliedIndex, Install(leader, follower));

        AssertRecord("from the leader", follower.Store);
        Assert.Equal(Content(leader.Store), Content(follower.Store));
        Assert.Equal(leader.Store.Hash().Hash, follower.Store.Hash().Hash);
        follower.Store.CheckInvariants();
    }

    [Fact]
    public void ADiskSnapshotWithoutARecordClearsTheReceiversRecord()
    {
        using var leader = OnDisk();
        Populate(leader);
        leader.Put("c", "more");
        using var follower = OnDisk();
        Assert.True(follower.SetClusterRecord(Record("stale")));
        Assert.Equal(leader.Store.AppliedIndex, Install(leader, follower));
        Assert.True(follower.Store.ClusterRecord.IsEmpty);
    }

    [Fact]
    public void AMemorySnapshotOfTheFormatBeforeRecordsRestoresWithAnEmptyOne()
    {
        using var s = PopulatedWith("memory", "not in format 3");
        using var buffer = Written(stream => s.Store.WriteSnapshotInFormat(stream, 3));
        using var restored = KvStore.Restore(buffer);

        Assert.True(restored.ClusterRecord.IsEmpty);
        Assert.Equal(Content(s.Store), Content(restored));
        Assert.Equal(s.Store.AppliedIndex, restored.AppliedIndex);
        restored.CheckInvariants();
    }

    [Fact]
    public void AMemorySnapshotWithARecordPastTheLimitIsCorrupt()
    {
        // Only a damaged or foreign writer makes one: the state is forced past its own check to write it.
        var state = new MvccState();
        typeof(MvccState).GetProperty(nameof(MvccState.ClusterRecord))!.GetSetMethod(nonPublic: true)!
            .Invoke(state, [new ReadOnlyMemory<byte>(new byte[KvStore.ClusterRecordMaxBytes + 1])]);
        using var buffer = Written(stream => SnapshotCodec.Write(FrozenState.Capture(state), stream));
        Assert.Throws<KvSnapshotCorruptException>(() => KvStore.Restore(buffer));
    }

    [Fact]
    public void ADiskRecordPastTheLimitIsACorruptBackend()
    {
        var directory = Path.Combine(Path.GetTempPath(), "raftkv-kv-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var backend = KvBackend.Open(directory, SmallBackend);
            using (var batch = new BackendBatch())
            {
                batch.Put(DiskClusterRecord.Key, new byte[KvStore.ClusterRecordMaxBytes + 1]);
                backend.Commit(batch, 1);
            }

            Assert.Throws<BackendFormatException>(() => new DiskView(backend.OpenView(), directory));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void BothEnginesHashTheRecordAlike()
    {
        using var memory = PopulatedWith("memory", "same");
        using var disk = PopulatedWith("disk", "same");

        Assert.Equal(memory.Store.Hash().Hash, disk.Store.Hash().Hash);
        Assert.Equal(memory.Store.HashKV(0).Hash, disk.Store.HashKV(0).Hash);
    }
}
