using System.Text;
using RaftKv.Kv.Backend.Snapshots;

namespace RaftKv.Kv.Backend.Tests;

/// <summary>
/// <see cref="BackendLoader"/>, the restore's RocksDB side: records go to several table files, ingested at once, and
/// nothing is visible (no format marker) before that.
/// </summary>
public sealed class BackendLoaderTests
{
    private const int Keys = 2_000;

    [Fact]
    public void Records_spread_over_several_table_files_load_as_one_backend()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("loaded");
        using (var loader = BackendLoader.Create(path, BackendContent.Small, tableFileBytes: 16 << 10))
        {
            for (var i = 0; i < Keys; i++)
            {
                loader.Put(KeySpace.UserKey(Key(i)), Encoding.ASCII.GetBytes($"value {i} {new string('v', 50)}"));
            }
            Assert.True(Directory.GetFiles(Path.Combine(path, "ingest")).Length >= 5, "expected several table files");
            Assert.Equal(42UL, loader.Complete(Meta(42)));
        }
        Assert.False(Directory.Exists(Path.Combine(path, "ingest")));
        using var backend = KvBackend.Open(path, BackendContent.Small);
        Assert.Equal(42UL, backend.AppliedIndex);
        using var view = backend.OpenView();
        using var it = view.IterateFrom([]);
        var seen = 0;
        for (; it.Valid && seen <= Keys; it.Next(), seen++)
        {
            Assert.Equal(Key(seen), it.Key.ToArray());
        }
        Assert.Equal(Keys, seen);
    }

    [Fact]
    public void Before_ingestion_the_directory_does_not_open_as_a_backend()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("loaded");
        using (var loader = BackendLoader.Create(path, BackendContent.Small, tableFileBytes: 16 << 10))
        {
            for (var i = 0; i < Keys; i++)
            {
                loader.Put(KeySpace.UserKey(Key(i)), "v"u8);
            }
        } // Disposed before Complete: as a crash or an error mid-restore leaves it.
        var e = Assert.Throws<BackendFormatException>(() => KvBackend.Open(path, BackendContent.Small));
        Assert.Contains("without the RaftKv format marker", e.Message);
    }

    [Fact]
    public void Keys_out_of_order_are_refused_by_RocksDB_too()
    {
        using var dir = new TempDirectory();
        using var loader = BackendLoader.Create(dir.Sub("loaded"), BackendContent.Small);
        loader.Put(KeySpace.UserKey("b"u8), "1"u8);
        Assert.Throws<RocksDbSharp.RocksDbException>(() => loader.Put(KeySpace.UserKey("a"u8), "2"u8));
    }

    private static byte[] Key(int i) => Encoding.ASCII.GetBytes($"key-{i:D6}");

    private static MetaRecords Meta(ulong index)
    {
        var meta = new MetaRecords();
        var indexBytes = new byte[8];
        KeySpace.WriteIndex(indexBytes, index);
        meta.Hold(KeySpace.AppliedIndexKey, indexBytes, "test");
        meta.Hold(KeySpace.FormatKey, KeySpace.FormatValue, "test");
        meta.Verify(index);
        return meta;
    }
}
