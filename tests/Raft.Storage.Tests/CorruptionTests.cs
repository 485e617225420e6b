using RaftKv.Raft.Storage.Tests.Support;
using Xunit.Abstractions;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// Damage to acknowledged records is never mistaken for a torn write: recovery names the file and offset and refuses
/// to start, because a node that silently forgot an entry it acknowledged could lose a committed write.
/// </summary>
public sealed class CorruptionTests(ITestOutputHelper output)
{
    private sealed record Log(string Root, DirectoryImage Image, List<string> Segments);

    private static Log WriteLog(TempDirectory dir)
    {
        var random = new Random(21);
        var root = dir.Sub("node");
        using (var storage = DurableStorage.Open(root, TestOptions.Small()))
        {
            ulong next = 1;
            for (var batch = 0; batch < 12; batch++)
            {
                // Entries of 100..300 bytes with no zero byte in their data.
                var entries = Enumerable.Range(0, 5).Select(i => new Entry(next + (ulong)i, 1, EntryType.Normal, Data.Bytes(random, random.Next(100, 301)))).ToArray();
                next += 5;
                storage.Save(new HardState(1, 1, next - 6), entries, null, mustSync: true);
            }
            // End with entries after the last hard state, so the very last record is an entry with data.
            storage.Save(null, [new Entry(next, 1, EntryType.Normal, Data.Bytes(random, 200))], null, mustSync: true);
        }
        var segments = Directory.GetFiles(Path.Combine(root, DurableStorage.WalDirectoryName), "*.wal").Order(StringComparer.Ordinal).ToList();
        Assert.True(segments.Count >= 4, $"expected at least 4 segments, got {segments.Count}");
        return new Log(root, DirectoryImage.Capture(root), segments);
    }

    private static string Rel(Log log, string path) => Path.GetRelativePath(log.Root, path);

    private StorageCorruptException OpenExpectingCorruption(string target, string because)
    {
        var e = Assert.Throws<StorageCorruptException>(() => DurableStorage.Open(target, TestOptions.Small()).Dispose());
        output.WriteLine($"{because}: {e.Message}");
        return e;
    }

    [Fact]
    public void A_flipped_bit_anywhere_in_a_committed_record_is_reported_at_that_record()
    {
        using var dir = new TempDirectory();
        var log = WriteLog(dir);
        var target = dir.Sub("damaged");
        // Records in a sealed segment (first, middle, last) and in the active segment (first, middle and the very last).
        var picks = new List<(string Segment, Frame Frame)>();
        var sealedFrames = FrameWalker.Frames(log.Segments[1]);
        picks.Add((log.Segments[1], sealedFrames[0]));
        picks.Add((log.Segments[1], sealedFrames[sealedFrames.Count / 2]));
        picks.Add((log.Segments[1], sealedFrames[^1]));
        var activeFrames = FrameWalker.Frames(log.Segments[^1]);
        picks.Add((log.Segments[^1], activeFrames[activeFrames.Count / 2]));
        picks.Add((log.Segments[^1], activeFrames[^1]));
        Assert.Equal(FrameWalker.EntryType, activeFrames[^1].Type);
        var random = new Random(99);
        var checks = 0;
        foreach (var (segment, frame) in picks)
        {
            // Every byte of the 16-byte frame header, then every 5th byte of the payload.
            for (var offset = frame.Offset; offset < frame.End; offset += offset < frame.Offset + 16 ? 1 : 5)
            {
                var at = (int)offset;
                var bit = 1 << random.Next(8);
                log.Image.Materialize(target, (file, bytes) =>
                {
                    if (file == Rel(log, segment)) bytes[at] ^= (byte)bit;
                    return bytes;
                });
                var e = Assert.Throws<StorageCorruptException>(() => DurableStorage.Open(target, TestOptions.Small()).Dispose());
                Assert.EndsWith(Rel(log, segment), e.FilePath);
                if (e.OffsetBytes != frame.Offset)
                    Assert.Fail($"flipping bit {bit} at byte {at} of {Path.GetFileName(segment)}: expected a report at record {frame.Offset}, got: {e.Message}");
                Assert.Contains("expected", e.Message);
                checks++;
            }
        }
        output.WriteLine($"{checks} single-bit flips, each reported at its record");
        Assert.True(checks > 150);
    }

    [Fact]
    public void Recovery_refuses_to_start_and_leaves_the_damaged_files_untouched()
    {
        using var dir = new TempDirectory();
        var log = WriteLog(dir);
        var target = dir.Sub("damaged");
        var last = FrameWalker.Frames(log.Segments[^1])[^1];
        log.Image.Materialize(target, (file, bytes) =>
        {
            if (file == Rel(log, log.Segments[^1])) bytes[(int)last.Offset + 40] ^= 0x10;
            return bytes;
        });
        var before = DirectoryImage.Capture(target);
        OpenExpectingCorruption(target, "bit flip in the last record");
        var after = DirectoryImage.Capture(target);
        Assert.Equal(before.Files.Keys.Order(), after.Files.Keys.Order());
        foreach (var (file, bytes) in before.Files) Assert.Equal(bytes, after.Files[file]);
        // And the lock was released: a second attempt fails the same way, not with "locked".
        OpenExpectingCorruption(target, "second attempt");
    }

    [Fact]
    public void A_damaged_segment_header_is_reported_at_offset_zero()
    {
        using var dir = new TempDirectory();
        var log = WriteLog(dir);
        var target = dir.Sub("damaged");
        log.Image.Materialize(target, (file, bytes) =>
        {
            if (file == Rel(log, log.Segments[2])) bytes[17] ^= 1; // sequence number
            return bytes;
        });
        var e = OpenExpectingCorruption(target, "segment header");
        Assert.Equal(0, e.OffsetBytes);
        Assert.EndsWith(Path.GetFileName(log.Segments[2]), e.FilePath);
    }

    [Fact]
    public void A_missing_segment_in_the_middle_is_reported()
    {
        using var dir = new TempDirectory();
        var log = WriteLog(dir);
        var target = dir.Sub("damaged");
        log.Image.Materialize(target);
        File.Delete(Path.Combine(target, Rel(log, log.Segments[2])));
        var e = OpenExpectingCorruption(target, "missing segment");
        Assert.Contains(Path.GetFileName(log.Segments[2]), e.Message);
    }

    [Fact]
    public void A_sealed_segment_cut_short_is_corruption_not_a_torn_tail()
    {
        // Only the last segment can hold an interrupted write: every earlier one was synced before the next began.
        using var dir = new TempDirectory();
        var log = WriteLog(dir);
        var target = dir.Sub("damaged");
        var frame = FrameWalker.Frames(log.Segments[1])[^1];
        log.Image.Materialize(target, (file, bytes) => file == Rel(log, log.Segments[1]) ? bytes[..(int)(frame.Offset + 20)] : bytes);
        var e = OpenExpectingCorruption(target, "sealed segment truncated");
        Assert.Equal(frame.Offset, e.OffsetBytes);
    }

    [Fact]
    public void Bytes_after_the_end_of_a_sealed_segment_are_corruption()
    {
        using var dir = new TempDirectory();
        var log = WriteLog(dir);
        var target = dir.Sub("damaged");
        log.Image.Materialize(target, (file, bytes) =>
        {
            if (file == Rel(log, log.Segments[0])) bytes[^3] = 0x5A;
            return bytes;
        });
        var e = OpenExpectingCorruption(target, "garbage after the end of a sealed segment");
        Assert.Equal(4096 - 3, e.OffsetBytes);
    }

    [Fact]
    public void A_missing_log_with_existing_snapshots_is_corruption()
    {
        // The log holds the term and vote (paper figure 2); a snapshot alone cannot bring them back.
        using var dir = new TempDirectory();
        var root = dir.Sub("node");
        using (var storage = DurableStorage.Open(root, TestOptions.Small()))
        {
            storage.Save(new HardState(3, 2, 5), Data.Entries(1, 5, 3, new Random(1)), null, true);
            storage.CreateSnapshot(5, new ConfState([1, 2, 3]), new byte[] { 1, 2 });
        }
        Directory.Delete(Path.Combine(root, DurableStorage.WalDirectoryName), recursive: true);
        OpenExpectingCorruption(root, "log directory deleted");
    }
}
