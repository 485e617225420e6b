using System.Buffers.Binary;
using RaftKv.Raft.Storage.Tests.Support;
using RaftKv.Raft.Storage.Wal;
using Xunit.Abstractions;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// The next segment is prepared in the background (header, zero fill, sync into <c>{sequence}.wal.prepared.tmp</c>) and a
/// rotation only renames it into place: same format, same recovery, no temporary file left by a clean close, and a
/// failure of the background work reported at the rotation from the appending thread.
/// </summary>
public sealed class SegmentPipelineTests(ITestOutputHelper output)
{
    private static readonly byte[] Magic = "RKVWAL01"u8.ToArray();

    private static string[] TemporaryFiles(string walDirectory) =>
        Directory.Exists(walDirectory) ? Directory.GetFiles(walDirectory, "*.tmp") : [];

    private static string SegmentPath(string walDirectory, ulong sequence) => Path.Combine(walDirectory, $"{sequence:D20}.wal");

    /// <summary>Where the background prepares segment <paramref name="sequence"/>.</summary>
    private static string PreparedPath(string walDirectory, ulong sequence) => SegmentPath(walDirectory, sequence) + ".prepared.tmp";

    /// <summary>Where a segment is created when the rotation has to do it itself.</summary>
    private static string CreatedPath(string walDirectory, ulong sequence) => SegmentPath(walDirectory, sequence) + ".tmp";

    private static WriteAheadLog OpenLog(string walDirectory, StorageOptions options, out List<Entry> entries) =>
        WriteAheadLog.Open(walDirectory, options, null, new RecoveryReport(), out _, out entries);

    /// <summary>Appends one synced entry of <paramref name="bytes"/> bytes plus a hard state committing the one before.</summary>
    private static Entry AppendOne(WriteAheadLog log, ulong index, int bytes, Random random)
    {
        var entry = new Entry(index, 1, EntryType.Normal, Data.Bytes(random, bytes));
        log.Append(null, [entry], 0, new HardState(1, 1, index - 1), sync: true);
        return entry;
    }

    /// <summary>A complete prepared (or preallocated empty) segment file: header for <paramref name="sequence"/>, zeros after it.</summary>
    private static void AssertPreparedFile(string path, ulong sequence, long sizeBytes)
    {
        Assert.True(File.Exists(path), $"{path} should exist");
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(sizeBytes, bytes.LongLength);
        Assert.Equal(Magic, bytes[..8]);
        Assert.Equal(sequence, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16)));
        Assert.False(bytes.AsSpan(32).ContainsAnyExcept((byte)0), "a prepared segment is all zeros after its header");
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public void Many_rolls_then_reopen_bring_every_entry_back(int seed, bool preallocate)
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small(preallocate);
        var wal = Path.Combine(dir.Path, DurableStorage.WalDirectoryName);
        var random = new Random(seed);
        var model = new MemoryStorage();
        int segments;
        using (var storage = DurableStorage.Open(dir.Path, options))
        {
            var workload = new RandomWorkload(random);
            for (var op = 0; op < 400; op++) workload.Step(storage, model);
            // Plain appends at the end, so the log spans many segments whatever the snapshots released.
            for (var i = 0; i < 60; i++)
            {
                var hs = storage.HardState;
                var entries = Data.Entries(storage.LastIndex + 1, 3, hs.Term, random, maxBytes: 300);
                storage.Save(hs, entries, null, mustSync: true);
                model.Append(entries);
            }
            LogAssert.Same(model, storage);
            segments = storage.SegmentPaths.Count;
            var names = storage.SegmentPaths.Select(p => Path.GetFileName(p)).ToArray();
            var first = ulong.Parse(names[0][..20], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Enumerable.Range(0, names.Length).Select(i => $"{first + (ulong)i:D20}.wal"), names);
            output.WriteLine($"{segments} segments on disk, sequences {first}..{first + (ulong)segments - 1}");
            Assert.True(first + (ulong)segments - 1 >= 30, "expected at least 30 rolls");
        }
        Assert.Empty(TemporaryFiles(wal));
        using var reopened = DurableStorage.Open(dir.Path, options);
        LogAssert.Same(model, reopened);
        Assert.Empty(reopened.Recovery.RemovedTemporaryFiles);
        Assert.Null(reopened.Recovery.TornTail);
        Assert.Equal(segments, reopened.SegmentPaths.Count);
    }

    [Fact]
    public void The_roll_renames_the_file_prepared_in_the_background_instead_of_zero_filling_one()
    {
        using var dir = new TempDirectory();
        const long segmentBytes = 64 * 1024;
        var options = TestOptions.Small(preallocate: true) with { SegmentSizeBytes = segmentBytes };
        var wal = dir.Sub("wal");
        var random = new Random(5);
        var written = new List<Entry>();
        using (var log = OpenLog(wal, options, out _))
        {
            // Right after open, segment 2 is being prepared; once that finishes its file is complete and synced.
            Assert.Equal(2ul, log.Pipeline.PendingSequence);
            Assert.True(log.Pipeline.WaitUntilPrepared());
            var prepared = PreparedPath(wal, 2);
            Assert.Equal(prepared, log.Pipeline.PendingTemporaryPath);
            AssertPreparedFile(prepared, 2, segmentBytes);

            // Mark the prepared file's last byte (never written by the log in this test). A segment created and
            // zero-filled during the roll would have a zero there; the renamed prepared file keeps the mark.
            using (var f = new FileStream(prepared, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
                f.Position = segmentBytes - 1;
                f.WriteByte(0xA5);
            }
            ulong index = 1;
            while (log.Segments.Count == 1) written.Add(AppendOne(log, index++, 1000, random));
            var segment2 = SegmentPath(wal, 2);
            Assert.Equal(segment2, log.Segments[^1].Path);
            Assert.False(File.Exists(prepared));
            using (var f = new FileStream(segment2, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
            {
                f.Position = segmentBytes - 1;
                Assert.Equal(0xA5, f.ReadByte());
                // Put the zero back, so the directory is exactly what the log would have written.
                f.Position = segmentBytes - 1;
                f.WriteByte(0);
            }
            // The roll went on as before: segment 2 starts with the hard state, then the entry that did not fit.
            var frames = FrameWalker.Frames(segment2);
            Assert.Equal(FrameWalker.HardStateType, frames[0].Type);
            Assert.Equal(FrameWalker.EntryType, frames[1].Type);

            // And the roll started preparing segment 3.
            Assert.Equal(3ul, log.Pipeline.PendingSequence);
            Assert.True(log.Pipeline.WaitUntilPrepared());
            AssertPreparedFile(PreparedPath(wal, 3), 3, segmentBytes);
            while (log.Segments.Count == 2) written.Add(AppendOne(log, index++, 1000, random));
            Assert.Equal(4ul, log.Pipeline.PendingSequence);
        }
        Assert.Empty(TemporaryFiles(wal));
        using var reopened = OpenLog(wal, options, out var recovered);
        Assert.Equal(3, reopened.Segments.Count);
        Assert.Equal(written.Select(e => (e.Index, Convert.ToHexString(e.Data.Span))), recovered.Select(e => (e.Index, Convert.ToHexString(e.Data.Span))));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void A_leftover_prepared_segment_is_deleted_at_open_and_recovery_succeeds(bool preallocate, bool halfWritten)
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small(preallocate);
        var root = dir.Sub("node");
        var wal = Path.Combine(root, DurableStorage.WalDirectoryName);
        var random = new Random(7);
        var written = new List<Entry>();
        DirectoryImage image;
        ulong pending;
        using (var log = OpenLog(wal, options, out _))
        {
            ulong index = 1;
            while (log.Segments.Count < 5) written.Add(AppendOne(log, index++, 300, random));
            Assert.True(log.Pipeline.WaitUntilPrepared());
            pending = log.Pipeline.PendingSequence!.Value;
            Assert.Equal(log.Segments[^1].Sequence + 1, pending);
            // A power loss now: the prepared file is on disk next to the segments.
            image = DirectoryImage.Capture(root);
        }
        var tmpName = Path.Combine(DurableStorage.WalDirectoryName, $"{pending:D20}.wal.prepared.tmp");
        Assert.Contains(tmpName, image.Files.Keys);
        var target = dir.Sub("crashed");
        // A crash in the middle of the preparation leaves a partial file: a header and some of the zeros.
        image.Materialize(target, (file, bytes) => halfWritten && file == tmpName ? bytes[..(bytes.Length / 2)] : bytes);
        var model = new MemoryStorage();
        model.Append(written);
        model.SetHardState(new HardState(1, 1, written[^1].Index - 1));
        using (var reopened = DurableStorage.Open(target, options))
        {
            Assert.Equal([Path.Combine(target, tmpName)], reopened.Recovery.RemovedTemporaryFiles);
            Assert.Null(reopened.Recovery.TornTail);
            LogAssert.Same(model, reopened);
            // The log goes on rolling over the sequence the leftover was prepared for.
            for (var i = 0; i < 40; i++)
            {
                var entries = Data.Entries(reopened.LastIndex + 1, 2, 1, random, maxBytes: 300);
                reopened.Save(new HardState(1, 1, reopened.LastIndex), entries, null, mustSync: true);
                model.Append(entries);
                model.SetHardState(new HardState(1, 1, entries[0].Index - 1));
            }
            Assert.True(reopened.SegmentPaths.Count > 6);
        }
        Assert.Empty(TemporaryFiles(Path.Combine(target, DurableStorage.WalDirectoryName)));
        using var again = DurableStorage.Open(target, options);
        LogAssert.Same(model, again);
        Assert.Empty(again.Recovery.RemovedTemporaryFiles);
    }

    [Fact]
    public void Dispose_waits_for_the_preparation_and_leaves_no_temporary_file()
    {
        using var dir = new TempDirectory();
        var wal = dir.Sub("wal");
        // Large enough that a dispose right after open usually lands in the middle of the zero fill (then cancels it).
        var options = StorageOptions.Default with { SegmentSizeBytes = 16 * 1024 * 1024, MaxRecordSizeBytes = 1024 * 1024 };
        for (var round = 0; round < 3; round++)
        {
            Task background;
            using (var log = OpenLog(wal, options, out _))
            {
                background = log.Pipeline.PendingTask!;
                Assert.NotNull(background);
            }
            Assert.True(background.IsCompleted, "Dispose returned while the background preparation was still running");
            Assert.Equal([SegmentPath(wal, 1)], Directory.GetFiles(wal));
        }

        // The same after many rolls through DurableStorage (which releases the directory lock right after).
        var root = dir.Sub("node");
        var random = new Random(9);
        using (var storage = DurableStorage.Open(root, TestOptions.Small()))
        {
            for (var i = 0; i < 150; i++)
                storage.Save(new HardState(1, 1, storage.LastIndex), Data.Entries(storage.LastIndex + 1, 3, 1, random, maxBytes: 300), null, mustSync: true);
            Assert.True(storage.SegmentPaths.Count > 10);
        }
        Assert.Empty(TemporaryFiles(Path.Combine(root, DurableStorage.WalDirectoryName)));
    }

    [Fact]
    public void A_preparation_for_another_sequence_is_discarded()
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small() with { SegmentSizeBytes = 64 * 1024 };
        using var pipeline = new SegmentPipeline(dir.Path, options);
        pipeline.Start(5);
        pipeline.Start(5); // the same sequence: kept, not restarted
        Assert.True(pipeline.WaitUntilPrepared());
        AssertPreparedFile(PreparedPath(dir.Path, 5), 5, 64 * 1024);
        pipeline.Start(6); // another sequence: the first is cancelled and deleted
        Assert.Equal(6ul, pipeline.PendingSequence);
        Assert.False(File.Exists(PreparedPath(dir.Path, 5)));
        Assert.False(pipeline.TryTake(7, out _, out _)); // not what was prepared: discarded, the caller creates its own
        Assert.Null(pipeline.PendingSequence);
        Assert.Empty(Directory.GetFiles(dir.Path));
        pipeline.Start(8);
        Assert.True(pipeline.TryTake(8, out var tmp, out var crc));
        Assert.Equal(PreparedPath(dir.Path, 8), tmp);
        AssertPreparedFile(tmp, 8, 64 * 1024);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(File.ReadAllBytes(tmp).AsSpan(28)), crc);
        Assert.False(pipeline.TryTake(9, out _, out _)); // nothing pending
    }

    [RequiresFact(Requirement.Tmpfs)]
    public void A_full_disk_during_background_preparation_surfaces_at_the_roll()
    {
        using var dir = new TempDirectory();
        // Room for two 64 KiB segments and a bit, not for a third file: the preparation after the first roll fails.
        using var fs = Tmpfs.Mount(dir.Sub("tiny"), 160 * 1024);
        const long segmentBytes = 64 * 1024;
        var options = TestOptions.Small(preallocate: true) with { SegmentSizeBytes = segmentBytes };
        var wal = Path.Combine(fs.Path, "wal");
        var random = new Random(11);
        var acknowledged = new List<Entry>();
        using (var log = OpenLog(wal, options, out _))
        {
            Assert.True(log.Pipeline.WaitUntilPrepared());
            ulong index = 1;
            while (log.Segments.Count == 1) acknowledged.Add(AppendOne(log, index++, 1000, random));

            // The background preparation of segment 3 ran out of space: nothing thrown yet, its file is gone.
            Assert.False(log.Pipeline.WaitUntilPrepared());
            var prepared = PreparedPath(wal, 3);
            var background = Assert.IsType<StorageException>(log.Pipeline.LastFailure);
            output.WriteLine($"background: {background.Message}");
            Assert.Equal(28, background.ErrorCode);
            Assert.Equal(prepared, background.Path);
            Assert.False(File.Exists(prepared));

            // Appends go on in the preallocated segment 2; the roll to segment 3 fails on the appending thread.
            StorageException? failure = null;
            while (failure is null)
            {
                try
                {
                    acknowledged.Add(AppendOne(log, index++, 1000, random));
                }
                catch (StorageException e)
                {
                    failure = e;
                }
                Assert.True(index < 1000, "the log never rolled");
            }
            // The rotation created the segment itself (the disk may have had room again): that attempt failed too.
            output.WriteLine($"roll: {failure.Message}");
            var tmp = CreatedPath(wal, 3);
            Assert.IsNotType<StorageCorruptException>(failure);
            Assert.Equal(28, failure.ErrorCode);
            Assert.Contains("ENOSPC", failure.Message);
            Assert.Equal(tmp, failure.Path);
            Assert.Contains(tmp, failure.Message);
            // Not half-rolled: segment 2 is still the active one, and no third file exists.
            Assert.Equal(2, log.Segments.Count);
            Assert.Equal(2ul, log.DurablePosition.Sequence);
            Assert.False(File.Exists(SegmentPath(wal, 3)));
            Assert.Empty(TemporaryFiles(wal));
        }
        Assert.Empty(TemporaryFiles(wal));
        using var reopened = OpenLog(wal, options, out var recovered);
        // The failed append may have landed its entry in segment 2 before the roll; every acknowledged one is back.
        Assert.True(recovered.Count >= acknowledged.Count);
        Assert.Equal(acknowledged.Select(e => (e.Index, Convert.ToHexString(e.Data.Span))),
            recovered.Take(acknowledged.Count).Select(e => (e.Index, Convert.ToHexString(e.Data.Span))));
    }
}
