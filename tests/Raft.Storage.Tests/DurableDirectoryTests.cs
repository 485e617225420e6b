using System.Collections.Concurrent;
using RaftKv.Raft.Storage.Files;

namespace RaftKv.Raft.Storage.Tests;

/// <summary>
/// New directories and renamed files are made durable in their parents: without a sync of the parent, a power
/// loss right after the first boot can take away the log directory or the identity file that was just written.
/// </summary>
public sealed class DurableDirectoryTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raftkv-durable-dir", Guid.NewGuid().ToString("n"));
    private readonly ConcurrentQueue<string> _synced = new();

    public DurableDirectoryTests()
    {
        Directory.CreateDirectory(_root);
        NativeFile.DirectorySynced += Observe;
    }

    public void Dispose()
    {
        NativeFile.DirectorySynced -= Observe;
        Directory.Delete(_root, recursive: true);
    }

    // Other tests sync their own directories meanwhile: keep only ours.
    private void Observe(string directory)
    {
        if (Path.GetFullPath(directory).StartsWith(_root, StringComparison.Ordinal)) _synced.Enqueue(Path.GetRelativePath(_root, directory));
    }

    [Fact]
    public void OpeningAFreshStorage_SyncsTheParentOfEveryDirectoryItCreates()
    {
        using (DurableStorage.Open(Path.Combine(_root, "data", "member")))
        {
        }

        var synced = _synced.ToHashSet(StringComparer.Ordinal);
        Assert.Contains(".", synced); // holds data/
        Assert.Contains("data", synced); // holds member/
        Assert.Contains(Path.Combine("data", "member"), synced); // holds wal/ and snap/
        Assert.Contains(Path.Combine("data", "member", "wal"), synced); // holds the first segment
    }

    [Fact]
    public void ReopeningCreatesNothing_AndSyncsNoParent()
    {
        var path = Path.Combine(_root, "data");
        using (DurableStorage.Open(path))
        {
        }

        _synced.Clear();
        using (DurableStorage.Open(path))
        {
        }

        Assert.DoesNotContain(".", _synced);
    }

    [Fact]
    public void WriteFileAtomically_ReplacesTheFileAndSyncsItsDirectory()
    {
        var file = Path.Combine(_root, "identity.json");
        DurableDirectory.WriteFileAtomically(file, "one"u8);
        DurableDirectory.WriteFileAtomically(file, "two"u8);
        Assert.Equal("two", File.ReadAllText(file));
        Assert.False(File.Exists(file + ".tmp"));
        Assert.Equal(2, _synced.Count(d => d == "."));
    }
}
