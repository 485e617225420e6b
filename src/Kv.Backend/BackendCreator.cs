using RaftKv.Raft.Storage.Files;
using RocksDbSharp;

namespace RaftKv.Kv.Backend;

/// <summary>Creates new backends and builds RocksDB options from <see cref="KvBackendOptions"/>.</summary>
internal static class BackendCreator
{
    private const string CreatingSuffix = ".creating";

    /// <summary>
    /// Creates the backend in a sibling directory and renames it into place, so a crash during creation leaves
    /// either no backend or a complete one (format marker and applied index 0), never a half-made directory.
    /// </summary>
    public static void Create(string fullPath, KvBackendOptions options)
    {
        var staging = fullPath.TrimEnd(Path.DirectorySeparatorChar) + CreatingSuffix;
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true); // Left by a crash during an earlier creation.
        }
        var (dbOptions, _, _) = BuildOptions(options, createIfMissing: true);
        using (var db = RocksDb.Open(dbOptions, staging))
        using (var batch = new WriteBatch())
        {
            Span<byte> index = stackalloc byte[sizeof(ulong)];
            KeySpace.WriteIndex(index, 0);
            batch.Put(KeySpace.FormatKey, KeySpace.FormatValue);
            batch.Put(KeySpace.AppliedIndexKey, index);
            db.Write(batch, new WriteOptions().SetSync(true));
        }
        if (Directory.Exists(fullPath))
        {
            Directory.Delete(fullPath); // Empty (checked by the caller); Directory.Move needs the name free.
        }
        Directory.Move(staging, fullPath);
        // Until the parent is synced, a power loss can take the new name away again.
        DurableDirectory.Sync(Path.GetDirectoryName(fullPath)!);
    }

    public static (DbOptions Db, BlockBasedTableOptions Table, Cache Cache) BuildOptions(
        KvBackendOptions options, bool createIfMissing)
    {
        var cache = Cache.CreateLru((ulong)options.BlockCacheSizeBytes);
        var table = new BlockBasedTableOptions()
            .SetBlockCache(cache)
            // Index and filter blocks live with the table readers, outside the cache: about 10 MB per GB of data
            // (a 10-bit bloom per record, an index entry per 4 KiB block). Charged to a 64 MiB cache, they were evicted
            // by data blocks once the data outgrew it, and every point read reloaded them: applies fell from 30k/s to
            // 4k/s at 500k keys of 1 KiB (with a 512 MiB cache they did not).
            .SetCacheIndexAndFilterBlocks(false)
            .SetFilterPolicy(BloomFilterPolicy.Create(10, false))
            .SetFormatVersion(5);
        var db = new DbOptions()
            .SetCreateIfMissing(createIfMissing)
            .SetErrorIfExists(createIfMissing)
            .SetParanoidChecks(true)
            .SetWalRecoveryMode(Recovery.PointInTime) // After power loss: a prefix of whole batches.
            .SetWriteBufferSize((ulong)options.WriteBufferSizeBytes)
            .SetMaxWriteBufferNumber(KvBackendOptions.WriteBuffersMax)
            .SetMaxOpenFiles(options.OpenFilesMax)
            .SetLevelCompactionDynamicLevelBytes(true)
            .SetKeepLogFileNum(4)
            .SetBlockBasedTableFactory(table);
        return (db, table, cache);
    }
}
