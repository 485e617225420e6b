using RaftKv.Raft.Storage.Snapshots;
using RaftKv.Raft.Storage.Tests.Support;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>Snapshot files (paper section 7): atomic, verified, the newest valid one used, damaged ones skipped and reported.</summary>
public sealed class SnapshotTests
{
    private static readonly ConfState Voters = new([1, 2, 3]);

    private static string SnapDir(string root) => Path.Combine(root, DurableStorage.SnapshotDirectoryName);

    /// <summary>120 entries, snapshots at 40 and 100, both retained.</summary>
    private static MemoryStorage WriteWithTwoSnapshots(string root, StorageOptions options)
    {
        var random = new Random(31);
        var model = new MemoryStorage();
        using var storage = DurableStorage.Open(root, options);
        var entries = Data.Entries(1, 120, 2, random, maxBytes: 300);
        for (var i = 0; i < 120; i += 10) storage.Save(new HardState(2, 1, (ulong)i + 10), entries[i..(i + 10)], null, true);
        model.Append(entries);
        model.SetHardState(new HardState(2, 1, 120));
        storage.CreateSnapshot(40, Voters, Data.Bytes(random, 100));
        var data = Data.Bytes(random, 100);
        storage.CreateSnapshot(100, Voters, data);
        model.CreateSnapshot(100, Voters, data);
        return model;
    }

    [Fact]
    public void A_damaged_newest_snapshot_is_reported_and_skipped_for_the_older_one()
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small() with { SnapshotsToRetain = 2 };
        WriteWithTwoSnapshots(dir.Path, options);
        var newest = Directory.GetFiles(SnapDir(dir.Path)).Order(StringComparer.Ordinal).Last();
        var bytes = File.ReadAllBytes(newest);
        bytes[^10] ^= 0x40;
        File.WriteAllBytes(newest, bytes);

        using var storage = DurableStorage.Open(dir.Path, options);
        var skipped = Assert.Single(storage.Recovery.SkippedSnapshots);
        Assert.Equal(newest, skipped.FilePath);
        Assert.Contains("data checksum", skipped.Reason);
        Assert.Equal(40ul, storage.Snapshot!.Index);
        Assert.Equal(41ul, storage.FirstIndex);
        Assert.Equal(120ul, storage.LastIndex);
        Assert.Equal(new HardState(2, 1, 120), storage.HardState);
    }

    [Fact]
    public void A_damaged_only_snapshot_after_compaction_refuses_to_start()
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small() with { SnapshotsToRetain = 1 };
        WriteWithTwoSnapshots(dir.Path, options);
        var only = Assert.Single(Directory.GetFiles(SnapDir(dir.Path)));
        File.WriteAllBytes(only, File.ReadAllBytes(only)[..60]);
        var e = Assert.Throws<StorageCorruptException>(() => DurableStorage.Open(dir.Path, options).Dispose());
        Assert.Contains("snapshot", e.Message);
    }

    [Fact]
    public void A_damaged_received_snapshot_referenced_by_the_log_refuses_to_start()
    {
        using var dir = new TempDirectory();
        var random = new Random(32);
        using (var storage = DurableStorage.Open(dir.Path, TestOptions.Small()))
        {
            storage.Save(new HardState(1, 1, 0), Data.Entries(1, 3, 1, random), null, true);
            storage.Save(new HardState(2, 0, 30), [], new Snapshot(new SnapshotMetadata(30, 2, Voters), Data.Bytes(random, 50)), true);
        }
        var file = Assert.Single(Directory.GetFiles(SnapDir(dir.Path)));
        var bytes = File.ReadAllBytes(file);
        bytes[20] ^= 1; // header: index
        File.WriteAllBytes(file, bytes);
        var e = Assert.Throws<StorageCorruptException>(() => DurableStorage.Open(dir.Path, TestOptions.Small()).Dispose());
        Assert.Contains("index 30", e.Expected);
        Assert.EndsWith(".wal", e.FilePath);
    }

    [Fact]
    public void Leftover_temporary_files_from_an_interrupted_write_are_removed()
    {
        using var dir = new TempDirectory();
        using (var storage = DurableStorage.Open(dir.Path, TestOptions.Small()))
            storage.Save(new HardState(1, 1, 0), Data.Entries(1, 3, 1, new Random(1)), null, true);
        var tmpSnap = Path.Combine(SnapDir(dir.Path), SnapshotFileFormat.FileName(9, 1) + ".tmp");
        var tmpSeg = Path.Combine(dir.Path, DurableStorage.WalDirectoryName, "00000000000000000002.wal.tmp");
        File.WriteAllBytes(tmpSnap, [1, 2, 3]);
        File.WriteAllBytes(tmpSeg, new byte[100]);
        using var reopened = DurableStorage.Open(dir.Path, TestOptions.Small());
        Assert.False(File.Exists(tmpSnap));
        Assert.False(File.Exists(tmpSeg));
        Assert.Equal(2, reopened.Recovery.RemovedTemporaryFiles.Count);
        Assert.Equal(3ul, reopened.LastIndex);
    }

    [Fact]
    public void A_snapshot_saved_without_its_marker_joins_the_log_by_term()
    {
        // A crash after the snapshot file was renamed into place but before the log recorded the install.
        using var dir = new TempDirectory();
        var random = new Random(33);
        using (var storage = DurableStorage.Open(dir.Path, TestOptions.Small()))
            storage.Save(new HardState(3, 1, 6), Data.Entries(1, 10, 3, random), null, true);
        // Matching term at index 6: the entries after it are kept. Then a diverging one at 8 (term 4): all dropped.
        var report = new RecoveryReport();
        var store = SnapshotStore.Open(SnapDir(dir.Path), TestOptions.Small(), report);
        store.Save(new Snapshot(new SnapshotMetadata(6, 3, Voters), new byte[] { 6 }));
        using (var reopened = DurableStorage.Open(dir.Path, TestOptions.Small()))
        {
            Assert.Equal(7ul, reopened.FirstIndex);
            Assert.Equal(10ul, reopened.LastIndex);
        }
        store.Save(new Snapshot(new SnapshotMetadata(8, 4, Voters), new byte[] { 8 }));
        using (var reopened = DurableStorage.Open(dir.Path, TestOptions.Small()))
        {
            Assert.Equal(9ul, reopened.FirstIndex);
            Assert.Equal(8ul, reopened.LastIndex);
            Assert.Contains(reopened.Recovery.Notes, n => n.Contains("diverge", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Snapshot_files_keep_learners_and_joint_configurations_and_plain_voter_sets_keep_format_1()
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small();
        var store = SnapshotStore.Open(dir.Path, options, new RecoveryReport());
        var joint = new ConfState([1, 2, 4], [5, 6], [1, 2, 3], autoLeave: true);
        var snapshot = new Snapshot(new SnapshotMetadata(80, 6, joint), Data.Bytes(new Random(35), 100));
        store.Save(snapshot);
        var path = Directory.GetFiles(dir.Path).Single(p => p.EndsWith(SnapshotFileFormat.FileName(80, 6), StringComparison.Ordinal));
        Assert.Equal(SnapshotFileFormat.FormatVersionWithLearners, BitConverter.ToUInt32(File.ReadAllBytes(path), 8));
        var read = SnapshotFileFormat.Read(path, options.MaxSnapshotSizeBytes, loadData: true);
        Assert.Equal(joint, read.Metadata.ConfState);
        var good = File.ReadAllBytes(path);
        for (var i = 0; i < SnapshotFileFormat.FixedHeaderBytesV2 + 6 * 8 + 4; i += 3)
        {
            var bad = (byte[])good.Clone();
            bad[i] ^= 0x10;
            File.WriteAllBytes(path, bad);
            Assert.Throws<InvalidSnapshotException>(() => SnapshotFileFormat.Read(path, options.MaxSnapshotSizeBytes, loadData: true));
        }
        Assert.Equal(SnapshotFileFormat.FormatVersion, BitConverter.ToUInt32(SnapshotFileFormat.EncodeHeader(new Snapshot(new SnapshotMetadata(1, 1, Voters), default)), 8));
    }

    [Fact]
    public void Snapshot_files_round_trip_and_reject_every_kind_of_damage()
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small();
        var store = SnapshotStore.Open(dir.Path, options, new RecoveryReport());
        var data = Data.Bytes(new Random(34), 3000);
        var snapshot = new Snapshot(new SnapshotMetadata(77, 5, new ConfState([3, 1, 9])), data);
        store.Save(snapshot);
        var path = Assert.Single(Directory.GetFiles(dir.Path));
        Assert.Equal(SnapshotFileFormat.FileName(77, 5), Path.GetFileName(path));
        var read = SnapshotFileFormat.Read(path, options.MaxSnapshotSizeBytes, loadData: true);
        Assert.Equal(snapshot.Metadata, read.Metadata);
        Assert.Equal(data, read.Data.ToArray());

        var good = File.ReadAllBytes(path);
        for (var i = 0; i < good.Length; i += 97)
        {
            var bad = (byte[])good.Clone();
            bad[i] ^= 0x08;
            File.WriteAllBytes(path, bad);
            Assert.Throws<InvalidSnapshotException>(() => SnapshotFileFormat.Read(path, options.MaxSnapshotSizeBytes, loadData: i % 2 == 0));
        }
        File.WriteAllBytes(path, good[..^1]);
        Assert.Throws<InvalidSnapshotException>(() => SnapshotFileFormat.Read(path, options.MaxSnapshotSizeBytes, loadData: true));
        File.WriteAllBytes(path, good);
        Assert.Throws<InvalidSnapshotException>(() => SnapshotFileFormat.Read(path, maxDataBytes: 100, loadData: true));
    }

    [Fact]
    public void Only_the_configured_number_of_snapshots_is_kept()
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small() with { SnapshotsToRetain = 2 };
        var store = SnapshotStore.Open(dir.Path, options, new RecoveryReport());
        for (ulong i = 1; i <= 5; i++) store.Save(new Snapshot(new SnapshotMetadata(i * 10, 1, Voters), new byte[] { (byte)i }))(); // and prune
        var names = Directory.GetFiles(dir.Path).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { SnapshotFileFormat.FileName(40, 1), SnapshotFileFormat.FileName(50, 1) }, names);
        Assert.Equal(40ul, store.OldestRetainedIndex);
        var reopened = SnapshotStore.Open(dir.Path, options, new RecoveryReport());
        Assert.Equal(50ul, reopened.Newest!.Index);
    }
}
