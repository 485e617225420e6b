using RaftKv.Etcd.Api;
using static RaftKv.Kv.Tests.TestStore;

namespace RaftKv.Kv.Tests;

/// <summary>
/// The disk engine carries a compaction of many changes out in steps, one per compaction-step entry, after committing
/// its revision at once. Reads, hashes and events must not tell a compaction in progress from one carried out (an
/// in-memory twin, which compacts whole, is the reference); the logical size must come out the same once it is done,
/// on every member alike, after a restart or a snapshot install in the middle.
/// </summary>
public sealed class CompactionStepTests
{
    [Fact]
    public void ACompactionInProgressReadsAsOneCarriedOut()
    {
        using var disk = OnDisk(compactionStepChanges: 3);
        using var memory = new TestStore();
        var compactAt = Fill(disk, memory);

        Both(disk, memory, s => s.Compact(compactAt));
        Assert.True(disk.Store.CompactionPending);
        Assert.False(memory.Store.CompactionPending);
        Assert.Equal(compactAt, disk.Store.CompactRevision);
        Assert.Equal(KvError.Compacted, Assert.Throws<KvException>(() => disk.Get("k0", compactAt - 1)).Error);

        var steps = 0;
        while (disk.Store.CompactionPending)
        {
            SameContent(disk.Store, memory.Store, compactAt);
            Assert.True(++steps < 1000, "the compaction never finished");
            Both(disk, memory, s => Assert.Null(s.Step().Error));
            disk.Store.CheckInvariants();
        }

        Assert.True(steps > 5, $"only {steps} steps: the compaction did not go on in steps");
        SameContent(disk.Store, memory.Store, compactAt);
        Assert.Equal((memory.Store.SizeBytes, memory.Store.VersionCount), (disk.Store.SizeBytes, disk.Store.VersionCount));
    }

    [Fact]
    public void ACompactionGoesOnAfterARestartAndASnapshotInstall()
    {
        using var disk = OnDisk(compactionStepChanges: 3);
        using var memory = new TestStore();
        using var follower = OnDisk(compactionStepChanges: 3);
        var compactAt = Fill(disk, memory, follower);
        Both(disk, memory, s => s.Compact(compactAt));
        follower.Compact(compactAt);
        for (var i = 0; i < 3; i++) All(s => s.Step(), disk, memory, follower);
        Assert.True(disk.Store.CompactionPending);

        disk.Reopen(); // a restart in the middle: the walk resumes where the last step committed it
        Assert.True(disk.Store.CompactionPending);
        using (var buffer = new MemoryStream())
        {
            disk.Store.WriteSnapshot(buffer); // a follower installs the state in the middle of the walk
            buffer.Position = 0;
            follower.Store.ReplaceWith(buffer);
        }

        Assert.True(follower.Store.CompactionPending);
        SameContent(follower.Store, memory.Store, compactAt);
        var steps = 0;
        while (disk.Store.CompactionPending)
        {
            Assert.True(++steps < 1000, "the compaction never finished");
            All(s => s.Step(), disk, memory, follower);
            Assert.Equal(disk.Store.SizeBytes, follower.Store.SizeBytes); // the same deletions at the same index
        }

        Assert.False(follower.Store.CompactionPending);
        SameContent(disk.Store, memory.Store, compactAt);
        Assert.Equal((memory.Store.SizeBytes, memory.Store.VersionCount), (disk.Store.SizeBytes, disk.Store.VersionCount));
        Assert.Equal(disk.Store.Hash().Hash, follower.Store.Hash().Hash);
        follower.Store.CheckInvariants();
    }

    [Fact]
    public void ASecondCompactionDuringAWalkIsCarriedOutAfterIt()
    {
        using var disk = OnDisk(compactionStepChanges: 3);
        using var memory = new TestStore();
        var first = Fill(disk, memory);
        Both(disk, memory, s => s.Compact(first));
        Both(disk, memory, s => s.Step());
        Both(disk, memory, s => s.Put("k1", "after"));
        Both(disk, memory, s => s.Delete("k2"));
        var second = disk.Store.Revision;
        Both(disk, memory, s => s.Compact(second));
        Assert.Equal(second, disk.Store.CompactRevision);
        Assert.True(disk.Store.CompactionPending);
        SameContent(disk.Store, memory.Store, second);

        for (var steps = 0; disk.Store.CompactionPending; steps++)
        {
            Assert.True(steps < 1000, "the compactions never finished");
            Both(disk, memory, s => s.Step());
            SameContent(disk.Store, memory.Store, second);
        }

        disk.Store.CheckInvariants();
        Assert.Equal((memory.Store.SizeBytes, memory.Store.VersionCount), (disk.Store.SizeBytes, disk.Store.VersionCount));
    }

    [Fact]
    public void AStepWithNothingPendingChangesNothing()
    {
        using var disk = OnDisk();
        disk.Put("a", "1");
        var hash = disk.Store.Hash().Hash;
        var step = disk.Step();
        Assert.Null(step.Error);
        Assert.Equal(2, step.Revision);
        Assert.Equal(2, disk.Store.Revision);
        Assert.NotEqual(hash, disk.Store.Hash().Hash); // only the applied index moved
        Assert.Equal(disk.Store.HashKV(0), disk.Store.HashKV(0));
        Assert.Equal("1", disk.Get("a").Kvs.Single().Value.ToStringUtf8());
    }

    // Keys with several versions, keys deleted, and at the compaction revision a put over older versions and a
    // tombstone, the two cases where a change at the revision names a version the compaction drops or keeps.
    private static long Fill(params TestStore[] stores)
    {
        for (var round = 0; round < 4; round++)
        {
            for (var k = 0; k < 8; k++) All(s => s.Put($"k{k}", $"v{round}"), stores);
        }

        All(s => s.Delete("k3"), stores);
        All(s => s.Delete("k4"), stores);
        All(s => s.Put("k4", "again"), stores);
        All(s => s.Apply(new KvCommand
        {
            Txn = new TxnRequest { Success = { PutOp("k5", "at-compaction"), DeleteOp("k6") } },
        }), stores);
        var compactAt = stores[0].Store.Revision;
        for (var k = 0; k < 8; k += 2) All(s => s.Put($"k{k}", "later"), stores);
        return compactAt;
    }

    private static void SameContent(KvStore actual, KvStore expected, long compactAt)
    {
        var all = new RangeRequest { Key = KeyRanges.FromKeyEnd, RangeEnd = KeyRanges.FromKeyEnd };
        for (var revision = compactAt; revision <= expected.Revision; revision++)
        {
            all.Revision = revision;
            Assert.Equal(expected.Range(all), actual.Range(all));
            Assert.Equal(expected.HashKV(revision).Hash, actual.HashKV(revision).Hash);
        }

        Assert.Equal(expected.ReadEvents(compactAt, 1000).Events, actual.ReadEvents(compactAt, 1000).Events);
        Assert.Equal(expected.Hash().Hash, actual.Hash().Hash);
    }

    private static void Both(TestStore a, TestStore b, Action<TestStore> act) => All(act, a, b);

    private static void All(Action<TestStore> act, params TestStore[] stores)
    {
        foreach (var s in stores) act(s);
    }
}
