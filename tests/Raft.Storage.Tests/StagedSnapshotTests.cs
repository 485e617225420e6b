using RaftKv.Raft.Storage.Tests.Support;
using Xunit.Abstractions;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// Snapshots written off the loop (paper section 7): staging writes the file where nothing uses it yet, publishing
/// makes it the snapshot and compacts the log. Until published, a restart ignores it.
/// </summary>
public sealed class StagedSnapshotTests(ITestOutputHelper output)
{
    private static readonly ConfState Voters123 = new([1, 2, 3]);

    private static string SnapDir(TempDirectory dir) => Path.Combine(dir.Path, DurableStorage.SnapshotDirectoryName);

    private static MemoryStorage Fill(DurableStorage storage, int count, Random random)
    {
        var model = new MemoryStorage();
        var entries = Data.Entries(1, count, 1, random);
        storage.Save(new HardState(1, 1, (ulong)count), entries, null, mustSync: true);
        model.Append(entries);
        model.SetHardState(new HardState(1, 1, (ulong)count));
        return model;
    }

    [Fact]
    public void A_staged_snapshot_is_invisible_until_published_and_removed_by_a_restart()
    {
        using var dir = new TempDirectory();
        var random = new Random(11);
        MemoryStorage model;
        using (var storage = DurableStorage.Open(dir.Path, TestOptions.Small()))
        {
            model = Fill(storage, 30, random);
            var staged = storage.StageSnapshot(new SnapshotMetadata(20, 1, Voters123), Data.Bytes(random, 300));
            Assert.Null(storage.Snapshot);
            Assert.Equal(1ul, storage.FirstIndex);
            var file = Assert.Single(Directory.GetFiles(SnapDir(dir)));
            Assert.EndsWith(".tmp", file);
            LogAssert.Same(model, storage);
            GC.KeepAlive(staged);
        }
        // A crash before publishing: the restart deletes the staged file and keeps the whole log.
        using var reopened = DurableStorage.Open(dir.Path, TestOptions.Small());
        Assert.Null(reopened.Snapshot);
        Assert.Empty(Directory.GetFiles(SnapDir(dir)));
        Assert.Single(reopened.Recovery.RemovedTemporaryFiles);
        LogAssert.Same(model, reopened);
    }

    [Fact]
    public async Task Staging_on_another_thread_while_the_log_grows_then_publishing_compacts_and_survives_reopen()
    {
        using var dir = new TempDirectory();
        var random = new Random(12);
        // Larger than the 1 MiB a staging writes between syncs, so the file is written in several synced pieces.
        var data = Data.Bytes(random, 2_500_000);
        var options = TestOptions.Small() with { MaxSnapshotSizeBytes = 4 * 1024 * 1024 };
        MemoryStorage model;
        using (var storage = DurableStorage.Open(dir.Path, options))
        {
            model = Fill(storage, 40, random);
            var staging = Task.Run(() => storage.StageSnapshot(new SnapshotMetadata(40, 1, Voters123), data));
            // The loop goes on appending (and rolling segments) while the file is written.
            ulong next = 41;
            for (var i = 0; i < 30; i++, next++)
            {
                var entry = Data.Entry(next, 1, random);
                storage.Save(new HardState(1, 1, next), [entry], null, mustSync: true);
                model.Append([entry]);
                model.SetHardState(new HardState(1, 1, next));
            }
            var staged = await staging;
            var published = storage.PublishSnapshot(staged);
            model.CreateSnapshot(40, Voters123, data);
            Assert.NotNull(published);
            Assert.Equal(40ul, published.Index);
            Assert.Equal(41ul, storage.FirstIndex);
            Assert.Equal(data, storage.Snapshot!.Data.ToArray());
            Assert.DoesNotContain(Directory.GetFiles(SnapDir(dir)), f => f.EndsWith(".tmp", StringComparison.Ordinal));
            LogAssert.Same(model, storage);
        }
        using var reopened = DurableStorage.Open(dir.Path, options);
        Assert.Equal(40ul, reopened.Recovery.SnapshotIndex);
        Assert.Equal(data, reopened.Snapshot!.Data.ToArray());
        LogAssert.Same(model, reopened);
    }

    [Fact]
    public void A_crash_between_publishing_and_its_housekeeping_restarts_from_the_old_or_the_new_snapshot_with_the_same_log()
    {
        // PublishSnapshot returns before the snapshot directory is synced and the released segments are deleted
        // (that runs off the loop). A crash in between leaves any of: the rename lost or kept, each deletion (oldest
        // first) done or not. Every such directory must reopen to the same log from the first index it keeps.
        using var dir = new TempDirectory();
        var root = dir.Sub("node");
        var random = new Random(14);
        var options = TestOptions.Small();
        DirectoryImage before, after;
        MemoryStorage model;
        using (var storage = DurableStorage.Open(root, options))
        {
            model = Fill(storage, 200, random); // several small segments
            storage.DrainHousekeeping();
            before = DirectoryImage.Capture(root);
            var published = storage.PublishSnapshot(storage.StageSnapshot(new SnapshotMetadata(150, 1, Voters123), Data.Bytes(random, 100)));
            Assert.NotNull(published);
            storage.DrainHousekeeping();
            after = DirectoryImage.Capture(root);
        }
        var deletedSegments = before.Files.Keys.Where(k => !after.Files.ContainsKey(k) && k.EndsWith(".wal", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var snapshotFile = Assert.Single(after.Files.Keys, k => k.StartsWith(DurableStorage.SnapshotDirectoryName, StringComparison.Ordinal));
        Assert.NotEmpty(deletedSegments); // otherwise this test proves nothing
        for (var deleted = 0; deleted <= deletedSegments.Count; deleted++)
        {
            foreach (var renameKept in new[] { false, true })
            {
                if (deleted > 0 && !renameKept) continue; // deletions wait for the directory sync
                var gone = deletedSegments.Take(deleted).ToHashSet(StringComparer.Ordinal);
                var target = dir.Sub($"crash-{deleted}-{renameKept}");
                before.Materialize(target);
                foreach (var file in gone) File.Delete(Path.Combine(target, file));
                Directory.CreateDirectory(Path.Combine(target, DurableStorage.SnapshotDirectoryName)); // empty in the image
                if (renameKept) File.WriteAllBytes(Path.Combine(target, snapshotFile), after.Files[snapshotFile]);
                using var reopened = DurableStorage.Open(target, options);
                output.WriteLine($"{deleted} segment(s) deleted, rename {(renameKept ? "kept" : "lost")}: first index {reopened.FirstIndex}");
                Assert.Equal(renameKept ? 150ul : 0ul, reopened.Snapshot?.Index ?? 0);
                Assert.Equal(model.LastIndex, reopened.LastIndex);
                for (var index = reopened.FirstIndex; index <= model.LastIndex; index++)
                {
                    Assert.Equal(LogLookup.Ok, reopened.TryGetTerm(index, out var term));
                    Assert.Equal(1ul, term);
                }
            }
        }
    }

    [Fact]
    public void A_snapshot_from_the_leader_meanwhile_supersedes_the_staged_one()
    {
        using var dir = new TempDirectory();
        var random = new Random(13);
        using var storage = DurableStorage.Open(dir.Path, TestOptions.Small());
        Fill(storage, 30, random);
        var staged = storage.StageSnapshot(new SnapshotMetadata(25, 1, Voters123), Data.Bytes(random, 100));
        var fromLeader = new Snapshot(new SnapshotMetadata(60, 2, Voters123), Data.Bytes(random, 100));
        storage.Save(new HardState(2, 0, 60), [], fromLeader, mustSync: true);
        var before = LogAssert.Describe(storage);

        Assert.Null(storage.PublishSnapshot(staged));
        Assert.Equal(before, LogAssert.Describe(storage));
        Assert.Equal(60ul, storage.Snapshot!.Index);
        var file = Assert.Single(Directory.GetFiles(SnapDir(dir)));
        Assert.EndsWith(".snap", file);
    }

    [Fact]
    public void A_wrong_term_or_a_foreign_staged_snapshot_is_refused_and_its_file_removed()
    {
        using var dir = new TempDirectory();
        using var other = new TempDirectory();
        var random = new Random(14);
        using var storage = DurableStorage.Open(dir.Path, TestOptions.Small());
        using var otherStorage = DurableStorage.Open(other.Path, TestOptions.Small());
        Fill(storage, 30, random);
        var before = LogAssert.Describe(storage);

        var wrongTerm = storage.StageSnapshot(new SnapshotMetadata(20, 7, Voters123), Data.Bytes(random, 10));
        var e = Assert.Throws<RaftInvariantException>(() => storage.PublishSnapshot(wrongTerm));
        output.WriteLine(e.Message);
        Assert.Contains("term 7", e.Message);
        var beyondCommit = storage.StageSnapshot(new SnapshotMetadata(31, 1, Voters123), Data.Bytes(random, 10));
        Assert.Throws<RaftInvariantException>(() => storage.PublishSnapshot(beyondCommit));
        Assert.Empty(Directory.GetFiles(SnapDir(dir)));
        Assert.Equal(before, LogAssert.Describe(storage));

        var foreign = otherStorage.StageSnapshot(new SnapshotMetadata(1, 1, Voters123), Data.Bytes(random, 10));
        Assert.Throws<ArgumentException>(() => storage.PublishSnapshot(foreign));
        Assert.Throws<ArgumentException>(() => storage.PublishSnapshot(new StagedSnapshot(foreign.Snapshot)));
        otherStorage.DiscardSnapshot(foreign);
        otherStorage.DiscardSnapshot(foreign); // idempotent
        Assert.Empty(Directory.GetFiles(Path.Combine(other.Path, DurableStorage.SnapshotDirectoryName)));
    }

    [RequiresFact(Requirement.Tmpfs)]
    public void A_full_disk_while_staging_fails_clearly_and_leaves_the_log_writable()
    {
        using var dir = new TempDirectory();
        using var fs = Tmpfs.Mount(dir.Sub("tiny"), 1024 * 1024);
        var random = new Random(15);
        var options = TestOptions.Small() with { MaxSnapshotSizeBytes = 4 * 1024 * 1024 };
        using var storage = DurableStorage.Open(Path.Combine(fs.Path, "node"), options);
        Fill(storage, 20, random);
        var failure = Assert.Throws<StorageException>(() => storage.StageSnapshot(new SnapshotMetadata(20, 1, Voters123), new byte[2 * 1024 * 1024]));
        output.WriteLine(failure.Message);
        Assert.Equal(28, failure.ErrorCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(fs.Path, "node", DurableStorage.SnapshotDirectoryName)));
        // Nothing the log depends on was touched: it still takes writes, and a smaller snapshot still works.
        storage.Save(new HardState(1, 1, 21), [Data.Entry(21, 1, random)], null, mustSync: true);
        var published = storage.PublishSnapshot(storage.StageSnapshot(new SnapshotMetadata(21, 1, Voters123), Data.Bytes(random, 1000)));
        Assert.Equal(21ul, published!.Index);
    }
}
