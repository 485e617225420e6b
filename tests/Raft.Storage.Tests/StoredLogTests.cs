using RaftKv.Raft.Storage.Tests.Support;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// <see cref="StoredLog.Read"/>, the offline reader behind <c>raftkv wal dump</c>: it must see exactly what
/// <see cref="DurableStorage.Open"/> recovers (same snapshot, entries and hard state), report damage as Open does,
/// refuse a directory in use, and change no file (a torn tail stays for the node's own start to cut).
/// </summary>
public sealed class StoredLogTests
{
    private static void Write(string root, bool snapshot)
    {
        var random = new Random(5);
        using var storage = DurableStorage.Open(root, TestOptions.Small());
        storage.Save(new HardState(2, 1, 20), Data.Entries(1, 24, 2, random), null, mustSync: true);
        if (snapshot) storage.CreateSnapshot(10, new ConfState([1, 2, 3]), new byte[] { 1, 2, 3 });
        storage.Save(new HardState(2, 1, 22), Data.Entries(25, 4, 2, random), null, mustSync: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Read_SeesWhatOpenRecovers_AndChangesNoFile(bool snapshot)
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("node");
        Write(root, snapshot);
        var before = DirectoryImage.Capture(root);

        var log = StoredLog.Read(root, TestOptions.Small());

        Assert.Equal(before.Files.Keys.Order(), DirectoryImage.Capture(root).Files.Keys.Order());
        Assert.All(before.Files, f => Assert.Equal(f.Value, DirectoryImage.Capture(root).Files[f.Key]));
        using var storage = DurableStorage.Open(root, TestOptions.Small());
        Assert.Equal(storage.HardState, log.HardState);
        Assert.Equal(storage.Snapshot?.Metadata.Index, log.Snapshot?.Index);
        var expected = new List<Entry>();
        storage.GetEntries(storage.FirstIndex, storage.LastIndex + 1, long.MaxValue, expected);
        Assert.Equal(expected.Select(e => (e.Index, e.Term, e.Data.ToArray())), log.Entries.Select(e => (e.Index, e.Term, e.Data.ToArray())));
        Assert.Equal(snapshot ? 11UL : 1UL, log.Entries[0].Index);
    }

    [Fact]
    public void Read_OfADirectoryInUse_IsRefused()
    {
        using var dir = new TempDirectory();
        using var storage = DurableStorage.Open(dir.Sub("node"), TestOptions.Small());
        Assert.Throws<StorageLockedException>(() => StoredLog.Read(dir.Sub("node"), TestOptions.Small()));
    }

    [Fact]
    public void Read_OfATornTail_ReportsIt_AndLeavesItForOpenToCut()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("node");
        Write(root, snapshot: false);
        var last = Directory.GetFiles(Path.Combine(root, DurableStorage.WalDirectoryName), "*.wal").Order(StringComparer.Ordinal).Last();
        var frames = FrameWalker.Frames(last);
        var cut = frames[^1].End - 5;
        using (var file = File.OpenWrite(last)) file.SetLength(cut); // the last write ends inside its last record

        var log = StoredLog.Read(root, TestOptions.Small());

        Assert.Equal(last, log.Recovery.TornTail?.FilePath);
        Assert.Equal(frames[^1].Offset, log.Recovery.TornTail?.OffsetBytes);
        Assert.Equal(cut, new FileInfo(last).Length);
        using var storage = DurableStorage.Open(root, TestOptions.Small());
        Assert.Equal(storage.LastIndex, log.Entries[^1].Index);
        Assert.Equal(storage.HardState, log.HardState);
    }

    [Fact]
    public void Read_OfACorruptRecord_ThrowsWhatOpenThrows()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("node");
        Write(root, snapshot: false);
        var first = Directory.GetFiles(Path.Combine(root, DurableStorage.WalDirectoryName), "*.wal").Order(StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(first);
        var frame = FrameWalker.Frames(bytes)[1];
        bytes[frame.Offset + FrameWalker.FrameHeaderBytes + 2] ^= 0x01;
        File.WriteAllBytes(first, bytes);

        var read = Assert.Throws<StorageCorruptException>(() => StoredLog.Read(root, TestOptions.Small()));
        var open = Assert.Throws<StorageCorruptException>(() => DurableStorage.Open(root, TestOptions.Small()).Dispose());
        Assert.Equal(open.Message, read.Message);
        Assert.Equal((first, frame.Offset), (read.FilePath, read.OffsetBytes));
    }

    [Fact]
    public void Read_OfAMissingDirectory_SaysSo()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<StorageException>(() => StoredLog.Read(dir.Sub("absent")));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir.Sub("absent")));
    }
}
