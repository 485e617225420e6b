using System.Text;

namespace RaftKv.Kv.Backend.Tests;

public sealed class KvBackendTests
{
    private static readonly KvBackendOptions Small =
        KvBackendOptions.Default with { BlockCacheSizeBytes = 8L << 20, WriteBufferSizeBytes = 4L << 20 };

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static string S(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private static void CommitPuts(KvBackend backend, ulong index, params string[] keyValues)
    {
        using var batch = new BackendBatch();
        for (var i = 0; i < keyValues.Length; i += 2)
        {
            batch.Put(B(keyValues[i]), B(keyValues[i + 1]));
        }
        backend.Commit(batch, index);
    }

    private static List<string> ReadAll(BackendView view)
    {
        var pairs = new List<string>();
        using var it = view.IterateFrom([]);
        for (var guard = 0; it.Valid && guard < 100_000; guard++, it.Next())
        {
            pairs.Add($"{S(it.Key)}={S(it.Value)}");
        }
        return pairs;
    }

    [Fact]
    public void New_backend_starts_at_applied_index_zero_and_is_empty()
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), Small);
        Assert.Equal(0UL, backend.AppliedIndex);
        using var view = backend.OpenView();
        Assert.Equal(0UL, view.AppliedIndex);
        Assert.Empty(ReadAll(view));
        Assert.False(Directory.Exists(dir.Sub("db") + ".creating"));
    }

    [Fact]
    public void Batches_and_applied_index_survive_reopen()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("db");
        using (var backend = KvBackend.Open(path, Small))
        {
            CommitPuts(backend, 1, "a", "1", "b", "2");
            using var batch = new BackendBatch();
            batch.Delete(B("a"));
            batch.Put(B("c"), B("3"));
            backend.Commit(batch, 5);
            Assert.Equal(0, batch.Count); // A commit clears the batch for reuse.
            Assert.Equal(5UL, backend.AppliedIndex);
        }
        using (var backend = KvBackend.Open(path, Small))
        {
            Assert.Equal(5UL, backend.AppliedIndex);
            using var view = backend.OpenView();
            Assert.Equal(["b=2", "c=3"], ReadAll(view));
            Assert.False(view.TryGet(B("a"), out _));
            Assert.True(view.TryGet(B("b"), out var value));
            Assert.Equal("2", S(value));
        }
    }

    [Fact]
    public void Existing_empty_directory_becomes_a_backend()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("empty");
        Directory.CreateDirectory(path);
        using (var backend = KvBackend.Open(path, Small))
        {
            CommitPuts(backend, 1, "a", "1");
        }
        using var reopened = KvBackend.Open(path, Small);
        Assert.Equal(1UL, reopened.AppliedIndex);
    }

    [Fact]
    public void Keys_longer_than_the_stack_buffer_round_trip()
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), Small);
        var longKey = new byte[KeySpace.StackKeyBytesMax * 3];
        longKey.AsSpan().Fill((byte)'q');
        var exact = new byte[KeySpace.StackKeyBytesMax - 1]; // The largest key prefixed on the stack.
        exact.AsSpan().Fill((byte)'p');
        using (var batch = new BackendBatch())
        {
            batch.Put(longKey, B("long"));
            batch.Put(exact, B("exact"));
            backend.Commit(batch, 1);
        }
        using var view = backend.OpenView();
        Assert.True(view.TryGet(longKey, out var value));
        Assert.Equal("long", S(value));
        Assert.True(view.TryGet(exact, out value));
        Assert.Equal("exact", S(value));
        using var it = view.IterateFrom(longKey);
        Assert.Equal(longKey, it.Key.ToArray());
    }

    [Fact]
    public void Empty_batch_advances_the_applied_index()
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), Small);
        using var batch = new BackendBatch();
        backend.Commit(batch, 7);
        Assert.Equal(7UL, backend.AppliedIndex);
    }

    [Theory]
    [InlineData(3UL)]
    [InlineData(2UL)]
    public void Applied_index_that_does_not_increase_throws_and_writes_nothing(ulong bad)
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), Small);
        CommitPuts(backend, 3, "a", "1");
        using var batch = new BackendBatch();
        batch.Put(B("z"), B("9"));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => backend.Commit(batch, bad));
        Assert.Contains("strictly increase", e.Message);
        Assert.Equal(3UL, backend.AppliedIndex);
        using var view = backend.OpenView();
        Assert.False(view.TryGet(B("z"), out _));
    }

    [Fact]
    public void View_does_not_see_later_commits()
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), Small);
        CommitPuts(backend, 1, "a", "old");
        using var view = backend.OpenView();
        CommitPuts(backend, 2, "a", "new", "b", "added");
        Assert.Equal(1UL, view.AppliedIndex);
        Assert.True(view.TryGet(B("a"), out var value));
        Assert.Equal("old", S(value));
        Assert.False(view.TryGet(B("b"), out _));
        Assert.Equal(["a=old"], ReadAll(view));
        using var later = backend.OpenView();
        Assert.Equal(2UL, later.AppliedIndex);
        Assert.Equal(["a=new", "b=added"], ReadAll(later));
    }

    [Fact]
    public void Iteration_is_in_byte_order_within_the_half_open_range()
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), Small);
        // Inserted out of order; includes a key with a 0x00 byte and one with 0xFF, the edges of the user space.
        using (var batch = new BackendBatch())
        {
            foreach (var key in new[] { "b", "a", "ab", "c", "b\0", "bz", "d" })
            {
                batch.Put(B(key), B(key.ToUpperInvariant()));
            }
            batch.Put([0xFF, 0xFF], B("max"));
            batch.Put([], B("empty"));
            backend.Commit(batch, 1);
        }
        using var view = backend.OpenView();
        var keys = new List<string>();
        using (var it = view.Iterate(B("ab"), B("c")))
        {
            for (; it.Valid; it.Next())
            {
                keys.Add(S(it.Key).Replace("\0", "\\0", StringComparison.Ordinal));
            }
            Assert.Throws<InvalidOperationException>(() => it.Key.Length);
        }
        Assert.Equal(["ab", "b", "b\\0", "bz"], keys);

        using (var it = view.IterateFrom(B("d")))
        {
            Assert.Equal("d", S(it.Key));
            it.Next();
            Assert.Equal([0xFF, 0xFF], it.Key.ToArray());
            it.Next();
            Assert.False(it.Valid); // The metadata is never reached from the user space.
        }
        using (var it = view.IterateFrom([]))
        {
            Assert.Equal(0, it.Key.Length);
            Assert.Equal("empty", S(it.Value));
        }
    }

    [Fact]
    public void Seek_stays_inside_the_range()
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), Small);
        CommitPuts(backend, 1, "a", "1", "b", "2", "c", "3", "d", "4");
        using var view = backend.OpenView();
        using var it = view.Iterate(B("b"), B("d"));
        it.Seek(B("a")); // Before the range: clamped to its start.
        Assert.Equal("b", S(it.Key));
        it.Seek(B("bb"));
        Assert.Equal("c", S(it.Key));
        it.Seek(B("d"));
        Assert.False(it.Valid);
    }

    [Fact]
    public void User_keys_cannot_touch_the_applied_index()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("db");
        using (var backend = KvBackend.Open(path, Small))
        {
            using var batch = new BackendBatch();
            // The stored metadata key is 0x00 "applied-index"; a user key with the same bytes lands elsewhere.
            batch.Put([0x00, .. "applied-index"u8], [1, 2, 3]);
            batch.Put("applied-index"u8, [9]);
            batch.Delete([0x00, .. "format"u8]);
            backend.Commit(batch, 4);
        }
        using (var backend = KvBackend.Open(path, Small))
        {
            Assert.Equal(4UL, backend.AppliedIndex);
            using var view = backend.OpenView();
            Assert.True(view.TryGet([0x00, .. "applied-index"u8], out var value));
            Assert.Equal([1, 2, 3], value);
        }
    }

    [Fact]
    public void Checkpoint_opens_as_a_backend_with_the_same_content_and_index()
    {
        using var dir = new TempDirectory();
        using var backend = KvBackend.Open(dir.Sub("db"), Small);
        for (ulong i = 1; i <= 50; i++)
        {
            CommitPuts(backend, i, $"key{i:D3}", $"value{i}");
        }
        var index = backend.Checkpoint(dir.Sub("snap"));
        Assert.Equal(50UL, index);
        CommitPuts(backend, 51, "after", "checkpoint"); // Not in the checkpoint.

        using var copy = KvBackend.Open(dir.Sub("snap"), Small);
        Assert.Equal(50UL, copy.AppliedIndex);
        using var view = copy.OpenView();
        var all = ReadAll(view);
        Assert.Equal(50, all.Count);
        Assert.Equal("key001=value1", all[0]);
        Assert.Equal("key050=value50", all[^1]);
        Assert.Throws<IOException>(() => backend.Checkpoint(dir.Sub("snap")));
    }

    [Fact]
    public void Flush_durable_keeps_the_state()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("db");
        using (var backend = KvBackend.Open(path, Small))
        {
            CommitPuts(backend, 1, "a", "1");
            backend.FlushDurable();
            Assert.True(backend.ApproximateSizeBytes > 0);
        }
        using var reopened = KvBackend.Open(path, Small);
        Assert.Equal(1UL, reopened.AppliedIndex);
    }

    [Fact]
    public void Foreign_directory_is_rejected_naming_the_path()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("foreign");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "notes.txt"), "not a database");
        var e = Assert.Throws<BackendFormatException>(() => KvBackend.Open(path, Small));
        Assert.Contains(path, e.Message);
        Assert.Equal(["notes.txt"], Directory.GetFiles(path).Select(Path.GetFileName));
    }

    [Fact]
    public void Plain_file_is_rejected_naming_the_path()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("file");
        File.WriteAllText(path, "x");
        var e = Assert.Throws<BackendFormatException>(() => KvBackend.Open(path, Small));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void RocksDb_without_the_format_marker_is_rejected()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("plain-rocksdb");
        using (var db = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions().SetCreateIfMissing(), path))
        {
            db.Put("some", "thing");
        }
        var e = Assert.Throws<BackendFormatException>(() => KvBackend.Open(path, Small));
        Assert.Contains(path, e.Message);
        Assert.Contains("format marker", e.Message);
    }

    [Fact]
    public void Missing_applied_index_is_rejected()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("db");
        KvBackend.Open(path, Small).Dispose();
        using (var db = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions(), path))
        {
            db.Remove([KeySpace.MetaPrefix, .. "applied-index"u8]);
        }
        var e = Assert.Throws<BackendFormatException>(() => KvBackend.Open(path, Small));
        Assert.Contains(path, e.Message);
        Assert.Contains("metadata missing", e.Message);
    }

    [Fact]
    public void Corrupt_manifest_is_rejected_naming_the_path()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("db");
        KvBackend.Open(path, Small).Dispose();
        var current = File.ReadAllText(Path.Combine(path, "CURRENT")).Trim();
        File.WriteAllBytes(Path.Combine(path, current), new byte[64]);
        var e = Assert.Throws<BackendFormatException>(() => KvBackend.Open(path, Small));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Disposing_the_backend_under_an_open_view_throws()
    {
        using var dir = new TempDirectory();
        var backend = KvBackend.Open(dir.Sub("db"), Small);
        var view = backend.OpenView();
        Assert.Throws<InvalidOperationException>(backend.Dispose);
        view.Dispose();
        backend.Dispose();
    }

    [Theory]
    [InlineData(0L, 64L << 20, 512, "BlockCacheSizeBytes")]
    [InlineData(64L << 20, 1024L, 512, "WriteBufferSizeBytes")]
    [InlineData(64L << 20, 64L << 20, 3, "OpenFilesMax")]
    public void Invalid_options_name_the_option(long cacheBytes, long bufferBytes, int files, string name)
    {
        var options = new KvBackendOptions
        {
            BlockCacheSizeBytes = cacheBytes, WriteBufferSizeBytes = bufferBytes, OpenFilesMax = files,
        };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(name, e.Message);
        KvBackendOptions.Default.Validate();
    }
}
