using System.Text;
using RaftKv.Kv.Backend.Snapshots;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// <see cref="StateDirectory"/>: first use, the switch to a restored backend, removal of leftovers, and refusal of a
/// pointer that cannot be trusted. The crash points of the switch are in <see cref="SwitchCrashTests"/>.
/// </summary>
public sealed class StateDirectoryTests
{
    private static readonly KvBackendOptions Small = BackendContent.Small;

    [Fact]
    public void First_open_creates_an_empty_backend_and_a_pointer_to_it()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        var state = StateDirectory.Open(root, Small);
        Assert.Equal(Path.Combine(root, "backend-0"), state.LivePath);
        Assert.Equal("backend-0\n", File.ReadAllText(Path.Combine(root, "CURRENT")));
        using (var backend = KvBackend.Open(state.LivePath, Small))
        {
            Assert.Equal(0UL, backend.AppliedIndex);
            BackendContent.FillRandom(backend, 10, seed: 1);
        }
        var reopened = StateDirectory.Open(root, Small);
        Assert.Equal(state.LivePath, reopened.LivePath);
        using var again = KvBackend.Open(reopened.LivePath, Small);
        Assert.Equal(2UL, again.AppliedIndex); // The data written through the first open is still there.
        Assert.Equal(["CURRENT", "backend-0"], Entries(root));
    }

    [Fact]
    public void Restored_stream_promoted_and_reopened_equals_the_source()
    {
        using var dir = new TempDirectory();
        using var source = KvBackend.Open(dir.Sub("a"), Small);
        BackendContent.FillRandom(source, 20_000, seed: 2);
        var bytes = BackendContent.ToBytes(source);

        var state = StateDirectory.Open(dir.Sub("state"), Small);
        var old = state.LivePath;
        var staging = state.NewStagingPath();
        Assert.Equal(source.AppliedIndex, BackendStream.Restore(new MemoryStream(bytes), staging, Small));
        var live = state.Promote(staging);

        Assert.Equal(live, state.LivePath);
        Assert.Equal(Path.Combine(dir.Sub("state"), "backend-1"), live);
        Assert.False(Directory.Exists(staging));
        Assert.True(Directory.Exists(old), "the old backend stays until DeleteRetired");
        Assert.Equal(1, state.DeleteRetired());
        Assert.False(Directory.Exists(old));

        var reopened = StateDirectory.Open(dir.Sub("state"), Small);
        Assert.Equal(live, reopened.LivePath);
        using var restored = KvBackend.Open(reopened.LivePath, Small);
        BackendContent.AssertSame(source, restored);
    }

    [Fact]
    public void Promote_may_run_while_the_old_backend_is_open()
    {
        using var dir = new TempDirectory();
        var state = StateDirectory.Open(dir.Sub("state"), Small);
        using var old = KvBackend.Open(state.LivePath, Small);
        BackendContent.FillRandom(old, 100, seed: 3);
        var staging = state.NewStagingPath();
        BackendStream.Restore(new MemoryStream(BackendContent.ToBytes(old)), staging, Small);
        using var oldView = old.OpenView();
        var live = state.Promote(staging);
        Assert.True(oldView.TryGet(FirstUserKey(oldView), out _), "the old backend still serves reads after the switch");
        using var fresh = KvBackend.Open(live, Small);
        BackendContent.AssertSame(old, fresh);
    }

    [Fact]
    public void Open_removes_leftovers_of_interrupted_switches_and_nothing_else()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        StateDirectory.Open(root, Small);
        foreach (var leftover in new[] { "incoming-5", "incoming-6.restoring", "backend-7", "backend-0.creating", "backend-3.restoring" })
        {
            Directory.CreateDirectory(Path.Combine(root, leftover));
            File.WriteAllText(Path.Combine(root, leftover, "x"), "partial");
        }
        File.WriteAllText(Path.Combine(root, "CURRENT.tmp"), "backend-7\n");
        Directory.CreateDirectory(Path.Combine(root, "wal"));
        File.WriteAllText(Path.Combine(root, "notes.txt"), "not ours");
        Directory.CreateDirectory(Path.Combine(root, "backend-01")); // Not a canonical name: not ours either.

        var state = StateDirectory.Open(root, Small);
        Assert.Equal(Path.Combine(root, "backend-0"), state.LivePath);
        Assert.Equal(["CURRENT", "backend-0", "backend-01", "notes.txt", "wal"], Entries(root));
        Assert.Equal(Path.Combine(root, "incoming-8"), state.NewStagingPath()); // Above every number seen.
        Assert.Equal(Path.Combine(root, "incoming-9"), state.NewStagingPath());
    }

    [Theory]
    [InlineData("", "is not a backend name")]
    [InlineData("backend-1", "is not a backend name")] // No newline: a torn write, not our pointer.
    [InlineData("backend-01\n", "is not a backend name")]
    [InlineData("incoming-1\n", "is not a backend name")]
    [InlineData("backend-0\nbackend-1\n", "is not a backend name")]
    [InlineData("\u0001\u0002garbage\n", "is not a backend name")]
    [InlineData("backend-9\n", "names 'backend-9', which does not exist")]
    [InlineData("backend-2\n", "names 'backend-2', which holds no RocksDB database")]
    public void A_pointer_that_cannot_be_trusted_is_refused_naming_the_file(string contents, string expected)
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        StateDirectory.Open(root, Small);
        Directory.CreateDirectory(Path.Combine(root, "backend-2")); // Exists, but empty.
        var pointer = Path.Combine(root, "CURRENT");
        File.WriteAllText(pointer, contents);

        var e = Assert.Throws<StateDirectoryCorruptException>(() => StateDirectory.Open(root, Small));
        Assert.Equal(pointer, e.Path);
        Assert.Contains(pointer, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.True(Directory.Exists(Path.Combine(root, "backend-0")), "a refused open deleted the backend");
    }

    [Fact]
    public void An_oversized_pointer_is_refused()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        StateDirectory.Open(root, Small);
        File.WriteAllText(Path.Combine(root, "CURRENT"), new string('x', 10_000));
        var e = Assert.Throws<StateDirectoryCorruptException>(() => StateDirectory.Open(root, Small));
        Assert.Contains("holds 10000 bytes", e.Message);
    }

    [Fact]
    public void A_missing_pointer_beside_a_promoted_backend_is_refused_not_started_empty()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        var state = StateDirectory.Open(root, Small);
        var staging = state.NewStagingPath();
        BackendStream.Restore(new MemoryStream(StreamWithData(dir)), staging, Small);
        state.Promote(staging);
        File.Delete(Path.Combine(root, "CURRENT"));

        var e = Assert.Throws<StateDirectoryCorruptException>(() => StateDirectory.Open(root, Small));
        Assert.Contains("it is missing, but 'backend-1' exists", e.Message);
        Assert.True(Directory.Exists(Path.Combine(root, "backend-1")));
    }

    [Fact]
    public void A_missing_pointer_beside_a_first_backend_with_data_is_refused()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        using (var backend = KvBackend.Open(StateDirectory.Open(root, Small).LivePath, Small))
        {
            BackendContent.FillRandom(backend, 10, seed: 4);
        }
        File.Delete(Path.Combine(root, "CURRENT"));
        var e = Assert.Throws<StateDirectoryCorruptException>(() => StateDirectory.Open(root, Small));
        Assert.Contains("'backend-0' holds applied index 2", e.Message);
    }

    [Fact]
    public void A_first_backend_made_before_a_crash_without_its_pointer_is_taken_over()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        StateDirectory.Open(root, Small);
        File.Delete(Path.Combine(root, "CURRENT")); // As if the crash came between creating backend-0 and the pointer.
        var state = StateDirectory.Open(root, Small);
        Assert.Equal(Path.Combine(root, "backend-0"), state.LivePath);
        Assert.Equal("backend-0\n", File.ReadAllText(Path.Combine(root, "CURRENT")));
    }

    [Fact]
    public void Promote_refuses_an_incomplete_staging_directory_and_keeps_the_live_one()
    {
        using var dir = new TempDirectory();
        var root = dir.Sub("state");
        var state = StateDirectory.Open(root, Small);
        var staging = state.NewStagingPath();
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "000004.sst"), "half");

        Assert.Throws<BackendFormatException>(() => state.Promote(staging));
        Assert.Equal(Path.Combine(root, "backend-0"), state.LivePath);
        Assert.Equal("backend-0\n", File.ReadAllText(Path.Combine(root, "CURRENT")));
    }

    [Theory]
    [InlineData("backend-5")]
    [InlineData("elsewhere/incoming-5")]
    [InlineData("incoming-x")]
    public void Promote_refuses_a_path_that_is_not_a_staging_directory_of_the_root(string relative)
    {
        using var dir = new TempDirectory();
        var state = StateDirectory.Open(dir.Sub("state"), Small);
        var path = Path.Combine(dir.Sub("state"), relative);
        Assert.Throws<ArgumentException>(() => state.Promote(path));
    }

    private static byte[] StreamWithData(TempDirectory dir)
    {
        using var source = KvBackend.Open(dir.Sub("source"), Small);
        BackendContent.FillRandom(source, 100, seed: 5);
        return BackendContent.ToBytes(source);
    }

    private static byte[] FirstUserKey(BackendView view)
    {
        using var it = view.IterateFrom([]);
        return it.Key.ToArray();
    }

    private static string[] Entries(string root) =>
        [.. Directory.GetFileSystemEntries(root).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal)];
}
