using RaftKv.Raft.Storage.Tests.Support;
using Xunit.Abstractions;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>A full disk or a read-only directory gives a clear error naming the path and the reason; nothing acknowledged is lost.</summary>
public sealed class DiskErrorTests(ITestOutputHelper output)
{
    [RequiresTheory(Requirement.Tmpfs)]
    [InlineData(true)]
    [InlineData(false)]
    public void A_full_disk_fails_clearly_and_loses_nothing_acknowledged(bool preallocate)
    {
        using var dir = new TempDirectory();
        using var fs = Tmpfs.Mount(dir.Sub("tiny"), 1024 * 1024);
        var options = TestOptions.Small(preallocate) with { SegmentSizeBytes = 128 * 1024 };
        var root = Path.Combine(fs.Path, "node");
        var random = new Random(41);
        var acknowledged = new MemoryStorage();
        StorageException? failure = null;
        using (var storage = DurableStorage.Open(root, options))
        {
            ulong next = 1;
            for (var i = 0; i < 2000 && failure is null; i++)
            {
                var entries = Enumerable.Range(0, 4).Select(j => new Entry(next + (ulong)j, 1, EntryType.Normal, Data.Bytes(random, 500))).ToArray();
                try
                {
                    storage.Save(new HardState(1, 1, next - 1), entries, null, mustSync: true);
                    acknowledged.Append(entries);
                    acknowledged.SetHardState(new HardState(1, 1, next - 1));
                    next += 4;
                }
                catch (StorageException e)
                {
                    failure = e;
                }
            }
            Assert.NotNull(failure);
            output.WriteLine(failure.Message);
            Assert.Equal(28, failure.ErrorCode);
            Assert.Contains("ENOSPC", failure.Message);
            Assert.StartsWith(root, failure.Path);
            Assert.IsNotType<StorageCorruptException>(failure);
            // The instance refuses further writes but still serves what is durable.
            var again = Assert.Throws<StorageException>(() => storage.Save(null, [Data.Entry(next, 1, random)], null, true));
            Assert.Contains("failed earlier", again.Message);
            LogAssert.Same(acknowledged, storage);
        }
        using var reopened = DurableStorage.Open(root, options);
        Assert.True(acknowledged.LastIndex > 100, $"only {acknowledged.LastIndex} entries fit");
        var recovered = LogAssert.Describe(reopened);
        // Without preallocation the failed write may have landed whole records before running out: those may remain,
        // but every acknowledged entry must be there exactly.
        var entriesRead = new List<Entry>();
        reopened.GetEntries(1, acknowledged.LastIndex + 1, long.MaxValue, entriesRead);
        var expected = new List<Entry>();
        acknowledged.GetEntries(1, acknowledged.LastIndex + 1, long.MaxValue, expected);
        Assert.Equal(expected.Select(e => (e.Index, e.Term, Convert.ToHexString(e.Data.Span))), entriesRead.Select(e => (e.Index, e.Term, Convert.ToHexString(e.Data.Span))));
        Assert.Equal(acknowledged.HardState.Term, reopened.HardState.Term);
        Assert.Equal(acknowledged.HardState.Vote, reopened.HardState.Vote);
        Assert.False(string.IsNullOrEmpty(recovered));
    }

    [RequiresFact(Requirement.ReadOnlyDirectory)]
    public void A_read_only_directory_fails_clearly()
    {
        using var dir = new TempDirectory();
        var ro = dir.Sub("ro");
        // Root ignores file modes, so as root the directory is a read-only tmpfs; any other user gets a chmod.
        using var fs = Environment.IsPrivilegedProcess ? Tmpfs.Mount(ro, 64 * 1024, readOnly: true) : null;
        if (fs is null && !OperatingSystem.IsWindows()) // Windows never runs this test: see Requirement.ReadOnlyDirectory
        {
            Directory.CreateDirectory(ro);
            File.SetUnixFileMode(ro, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }
        var root = Path.Combine(ro, "node");
        var e = Assert.Throws<StorageException>(() => DurableStorage.Open(root));
        output.WriteLine(e.Message);
        Assert.IsNotType<StorageCorruptException>(e);
        Assert.Contains(root, e.Message);
        Assert.True(e.ErrorCode is 30 or 13, $"errno {e.ErrorCode}");
        Assert.Matches("EROFS|EACCES", e.Message);
    }
}
