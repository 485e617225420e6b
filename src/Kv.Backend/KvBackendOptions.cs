namespace RaftKv.Kv.Backend;

/// <summary>
/// Memory and file limits of a <see cref="KvBackend"/>. Memory is bounded by these figures, not by data size:
/// about <see cref="BlockCacheSizeBytes"/> + <see cref="WriteBuffersMax"/> x <see cref="WriteBufferSizeBytes"/>
/// (index and filter blocks are charged to the block cache, so they do not grow outside it).
/// </summary>
public sealed record KvBackendOptions
{
    /// <summary>The memtable count RocksDB may hold per column family (one active, one being flushed).</summary>
    public const int WriteBuffersMax = 2;

    /// <summary>Smallest accepted cache or write buffer: RocksDB works below it, but only as a toy.</summary>
    public const long SizeBytesMin = 1L << 20;

    /// <summary>Largest accepted block cache: far above any machine this runs on, so a typo is caught.</summary>
    public const long BlockCacheSizeBytesMax = 1L << 40;

    /// <summary>Largest accepted write buffer: one memtable is flushed as one file, and a flush holds it in memory.</summary>
    public const long WriteBufferSizeBytesMax = 1L << 30;

    /// <summary>Fewest accepted open files: RocksDB needs some for the WAL, MANIFEST and a few tables.</summary>
    public const int OpenFilesMin = 16;

    /// <summary>Most accepted open files: bounded so the process file-descriptor limit is a conscious choice.</summary>
    public const int OpenFilesLimit = 1 << 20;

    /// <summary>The LRU cache of uncompressed data, index and filter blocks. Default 64 MiB.</summary>
    public long BlockCacheSizeBytes { get; init; } = 64L << 20;

    /// <summary>
    /// The size of one memtable before it is flushed to a table file. Default 16 MiB: after a kill -9, opening the
    /// backend replays RocksDB's WAL of every unflushed memtable, up to <see cref="WriteBuffersMax"/> of them. With
    /// 64 MiB that replay was most of a restart (1.1-1.4 s of a 1.7-2.8 s start, 3 members after 50,000 puts of
    /// 1 KiB on 2 cores); with 16 MiB it took 0.34-0.61 s, at the same write throughput.
    /// </summary>
    public long WriteBufferSizeBytes { get; init; } = 16L << 20;

    /// <summary>Table files RocksDB keeps open at once (its <c>max_open_files</c>). Default 512.</summary>
    public int OpenFilesMax { get; init; } = 512;

    /// <summary>The defaults: 64 MiB block cache, 16 MiB write buffer, 512 open files.</summary>
    public static KvBackendOptions Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of its range.</summary>
    public void Validate()
    {
        CheckRange(nameof(BlockCacheSizeBytes), BlockCacheSizeBytes, SizeBytesMin, BlockCacheSizeBytesMax);
        CheckRange(nameof(WriteBufferSizeBytes), WriteBufferSizeBytes, SizeBytesMin, WriteBufferSizeBytesMax);
        CheckRange(nameof(OpenFilesMax), OpenFilesMax, OpenFilesMin, OpenFilesLimit);
    }

    private static void CheckRange(string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException(
                $"KvBackendOptions.{name} is {value}; it must be between {min} and {max}.", name);
        }
    }
}
