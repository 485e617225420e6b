using RaftKv.Raft.Storage.Tests.Support;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// A crash in the middle of an append leaves a torn last record. Recovery must keep exactly the whole records before
/// it, cut the rest off, and carry on appending after it.
/// </summary>
public sealed class TornWriteTests
{
    private sealed record Written(string Segment, List<Frame> Frames, List<string> StateAfterRecords, DirectoryImage Image);

    /// <summary>
    /// Writes three saves into one segment and records, for every record boundary, what the log looks like when the
    /// records up to it survive. Entries 11..13 are large enough to cross disk sectors.
    /// </summary>
    private static Written WriteLog(TempDirectory dir, StorageOptions options)
    {
        var random = new Random(11);
        var saves = new List<(HardState Hs, Entry[] Entries)>
        {
            (new HardState(1, 1, 0), Data.Entries(1, 5, 1, random, maxBytes: 80)),
            (new HardState(1, 1, 5), Data.Entries(6, 5, 1, random, maxBytes: 80)),
            (new HardState(1, 1, 10), [Data.Entry(11, 1, random, 300), Data.Entry(12, 1, random, 700), Data.Entry(13, 1, random, 400)]),
        };
        var storagePath = dir.Sub("node");
        using (var storage = DurableStorage.Open(storagePath, options))
        {
            foreach (var (hs, entries) in saves) storage.Save(hs, entries, null, mustSync: true);
        }
        // The log after each record, in write order: entries first, then the save's hard state.
        var states = new List<string>();
        var model = new MemoryStorage();
        states.Add(LogAssert.Describe(model));
        foreach (var (hs, entries) in saves)
        {
            foreach (var e in entries)
            {
                model.Append([e]);
                states.Add(LogAssert.Describe(model));
            }
            model.SetHardState(hs);
            states.Add(LogAssert.Describe(model));
        }
        var segment = Directory.GetFiles(Path.Combine(storagePath, DurableStorage.WalDirectoryName), "*.wal").Single();
        var frames = FrameWalker.Frames(segment);
        Assert.Equal(states.Count - 1, frames.Count);
        return new Written(segment, frames, states, DirectoryImage.Capture(storagePath));
    }

    private static string ExpectedAt(Written w, long cut) => w.StateAfterRecords[w.Frames.Count(f => f.End <= cut)];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cutting_the_file_at_every_byte_of_its_last_records_keeps_exactly_the_whole_records(bool preallocate)
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small(preallocate) with { SegmentSizeBytes = 64 * 1024 };
        var w = WriteLog(dir, options);
        var rel = Path.GetRelativePath(dir.Sub("node"), w.Segment);
        var from = w.Frames[^4].Offset; // entries 11, 12, 13 and the last hard state
        var to = w.Frames[^1].End;
        var target = dir.Sub("crash");
        for (var cut = from; cut <= to; cut++)
        {
            var c = cut;
            w.Image.Materialize(target, (file, bytes) => file == rel ? bytes[..(int)c] : bytes);
            using var storage = DurableStorage.Open(target, options);
            var expected = ExpectedAt(w, c);
            var actual = LogAssert.Describe(storage);
            if (expected != actual) Assert.Fail($"cut at {c}:\nexpected\n{expected}\nactual\n{actual}");
            var onBoundary = w.Frames.Any(f => f.End == c);
            Assert.True(onBoundary == (storage.Recovery.TornTail is null), $"cut at {c}: torn tail reported = {storage.Recovery.TornTail}");
            if (!onBoundary) Assert.Equal(w.Frames.Last(f => f.End <= c).End, storage.Recovery.TornTail!.OffsetBytes);
        }
    }

    [Fact]
    public void A_partly_written_record_in_zero_filled_space_is_torn_at_every_sector_boundary()
    {
        // A disk writes whole sectors; a crash mid-append leaves the sectors not yet written as zeros.
        using var dir = new TempDirectory();
        var options = TestOptions.Small(preallocate: true) with { SegmentSizeBytes = 64 * 1024 };
        var w = WriteLog(dir, options);
        var rel = Path.GetRelativePath(dir.Sub("node"), w.Segment);
        var target = dir.Sub("crash");
        var cuts = new List<long>();
        for (var s = w.Frames[^4].Offset / 512 * 512; s <= w.Frames[^1].End + 512; s += 512) cuts.Add(s);
        cuts.AddRange(w.Frames.TakeLast(4).Select(f => f.Offset)); // whole records missing
        Assert.True(cuts.Count >= 4);
        foreach (var cut in cuts)
        {
            w.Image.Materialize(target, (file, bytes) =>
            {
                if (file == rel) Array.Clear(bytes, (int)cut, bytes.Length - (int)cut);
                return bytes;
            });
            using var storage = DurableStorage.Open(target, options);
            Assert.Equal(ExpectedAt(w, cut), LogAssert.Describe(storage));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void After_cutting_a_torn_tail_the_log_appends_and_reopens_normally(bool preallocate)
    {
        using var dir = new TempDirectory();
        var options = TestOptions.Small(preallocate) with { SegmentSizeBytes = 64 * 1024 };
        var w = WriteLog(dir, options);
        var rel = Path.GetRelativePath(dir.Sub("node"), w.Segment);
        var target = dir.Sub("crash");
        var entry12 = w.Frames[^3];
        var sectorInEntry12 = (entry12.Offset / 512 + 1) * 512;
        Assert.True(sectorInEntry12 < entry12.End, "entry 12 must cross a sector boundary");
        w.Image.Materialize(target, (file, bytes) =>
        {
            if (file != rel) return bytes;
            if (!preallocate) return bytes[..(int)(entry12.Offset + entry12.Length / 2)]; // the file ends inside entry 12
            // Preallocated: entry 12's second sector never reached the disk, but a later sector did (writes land out of order).
            var strayFrom = (w.Frames[^1].Offset / 512) * 512;
            Array.Clear(bytes, (int)sectorInEntry12, (int)(strayFrom - sectorInEntry12));
            return bytes;
        });
        var random = new Random(5);
        var more = Data.Entries(12, 3, 2, random);
        using (var storage = DurableStorage.Open(target, options))
        {
            Assert.Equal(11ul, storage.LastIndex);
            Assert.NotNull(storage.Recovery.TornTail);
            Assert.Equal(w.Frames[^3].Offset, storage.Recovery.TornTail!.OffsetBytes);
            storage.Save(new HardState(2, 0, 11), more, null, true);
        }
        using (var reopened = DurableStorage.Open(target, options))
        {
            Assert.Null(reopened.Recovery.TornTail);
            Assert.Equal(14ul, reopened.LastIndex);
            var read = new List<Entry>();
            reopened.GetEntries(12, 15, long.MaxValue, read);
            Assert.Equal(more.Select(e => e.Data.ToArray()), read.Select(e => e.Data.ToArray()));
            Assert.Equal(new HardState(2, 0, 11), reopened.HardState);
        }
    }
}
