using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using RocksDbSharp;

namespace RaftKv.Kv.Backend;

/// <summary>
/// The state machine's durable state on RocksDB. Every <see cref="Commit"/> writes a batch's changes and its applied
/// index in one atomic RocksDB write, so after any crash the data is exactly batches 1..<see cref="AppliedIndex"/>.
/// </summary>
/// <remarks>
/// Durability: commits go to RocksDB's WAL without fsync. A process crash loses nothing (the bytes are in the OS);
/// a power loss may lose a tail of commits, which the Raft log replays. <see cref="FlushDurable"/> fsyncs the WAL
/// and must be called before the Raft log below <see cref="AppliedIndex"/> is released.
/// Threads: <see cref="Commit"/> is serialized internally (one apply loop is expected); views, checkpoints and
/// size queries may run on other threads at the same time. Every view must be disposed before the backend.
/// </remarks>
public sealed class KvBackend : IDisposable
{
    private readonly RocksDb db;
    private readonly WriteOptions commitOptions;
    // The binding frees native options in finalizers: these stay referenced for the database's lifetime.
    private readonly DbOptions dbOptions;
    private readonly BlockBasedTableOptions tableOptions;
    private readonly Cache blockCache;
    private readonly Lock commitLock = new();
    private readonly FlushOptions? volatileFlush; // non-null in a power-loss test (FailPoint.BackendWal)
    private ulong appliedIndex; // Invariant: equals the applied index stored in the database.
    private int openViews;
    private bool disposed;

    private KvBackend(string directory, RocksDb db, DbOptions dbOptions, BlockBasedTableOptions tableOptions,
        Cache blockCache, ulong appliedIndex)
    {
        Directory = directory;
        this.db = db;
        this.dbOptions = dbOptions;
        this.tableOptions = tableOptions;
        this.blockCache = blockCache;
        this.appliedIndex = appliedIndex;
        commitOptions = new WriteOptions().SetSync(false);
        if (FailPoints.Skips(FailPoint.BackendWal))
        {
            volatileFlush = new FlushOptions().SetWaitForFlush(true);
            commitOptions.DisableWal(1);
        }
    }

    /// <summary>The full path of the backend's directory.</summary>
    public string Directory { get; }

    /// <summary>The index of the last committed batch; 0 for a new backend.</summary>
    public ulong AppliedIndex => Volatile.Read(ref appliedIndex);

    /// <summary>
    /// Bytes of the current version's table files plus unflushed memtables, for db size and quota. An over-estimate
    /// of the logical data by the overwritten and deleted versions not yet compacted away; never an under-estimate.
    /// </summary>
    /// <remarks>
    /// Not <c>rocksdb.estimate-live-data-size</c>: it skips files whose key ranges overlap files already counted, so
    /// with keys spread over all levels it reported 508 MiB for 1 GiB of data in the bench.
    /// </remarks>
    public long ApproximateSizeBytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return PropertyBytes("rocksdb.live-sst-files-size") + PropertyBytes("rocksdb.cur-size-all-mem-tables");
        }
    }

    /// <summary>
    /// Loads RocksDB's native library and binds its functions on a thread of its own, so that a process that will
    /// <see cref="Open"/> a backend soon does this meanwhile instead of then. The binding builds a proxy for every
    /// native function and took 280-360 ms on the 2-core bench machine, a third of a member's start; a process that
    /// calls this and never opens a backend only wastes that time. Safe to call more than once and from any thread:
    /// the binding is a type initializer, which the runtime runs once and makes every other caller wait for.
    /// </summary>
    public static void PrewarmNative()
    {
        var thread = new Thread(static () =>
        {
            try
            {
                _ = Native.Instance;
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or TypeInitializationException or EntryPointNotFoundException)
            {
                // Open reports the same failure, with its context, when it runs.
            }
        })
        { IsBackground = true, Name = "rocksdb-prewarm" };
        thread.Start();
    }

    /// <summary>
    /// Opens the backend in <paramref name="directory"/>, creating it when the directory is missing or empty.
    /// Throws <see cref="BackendFormatException"/> for a foreign or corrupt directory.
    /// </summary>
    public static KvBackend Open(string directory, KvBackendOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var fullPath = Path.GetFullPath(directory);
        if (IsMissingOrEmpty(fullPath))
        {
            BackendCreator.Create(fullPath, options);
        }
        else if (!File.Exists(Path.Combine(fullPath, "CURRENT")))
        {
            throw new BackendFormatException(fullPath, "the directory holds files but no RocksDB database (no CURRENT file).");
        }
        return OpenExisting(fullPath, options);
    }

    /// <summary>
    /// Writes <paramref name="batch"/> and <paramref name="appliedIndex"/> in one atomic RocksDB write, then
    /// clears the batch. Not fsynced (see the remarks on the type).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The index does not exceed <see cref="AppliedIndex"/>: a caller bug.</exception>
    public void Commit(BackendBatch batch, ulong appliedIndex)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (commitLock)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (appliedIndex <= this.appliedIndex)
            {
                ThrowIndexNotIncreasing(appliedIndex, this.appliedIndex);
            }
            Span<byte> index = stackalloc byte[sizeof(ulong)];
            KeySpace.WriteIndex(index, appliedIndex);
            try
            {
                batch.Inner.Put(KeySpace.AppliedIndexKey, index);
                FailPoints.Hit(FailPoint.BackendBeforeCommit);
                db.Write(batch.Inner, commitOptions);
                FailPoints.Hit(FailPoint.BackendAfterCommit);
            }
            finally
            {
                batch.Clear();
            }
            Volatile.Write(ref this.appliedIndex, appliedIndex);
        }
    }

    /// <summary>Makes every commit so far durable (fsync of RocksDB's WAL). Safe to call from any thread.</summary>
    public void FlushDurable()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (volatileFlush is not null)
        {
            db.Flush(volatileFlush);
            return;
        }
        Native.Instance.rocksdb_flush_wal(db.Handle, 1);
    }

    /// <summary>
    /// Compacts every level of the whole key space now, dropping deleted and overwritten records from the files
    /// (etcd's defragment). Online: commits and views go on meanwhile; it only takes disk bandwidth.
    /// </summary>
    public void CompactAll()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        FailPoints.Hit(FailPoint.DefragDuring);
        db.CompactRange((byte[]?)null, null);
    }

    /// <summary>
    /// A consistent point-in-time read view; dispose it before the backend. Its applied index is taken with the
    /// snapshot under the commit lock, not read back: a key rewritten by every commit is slow to read once RocksDB holds
    /// hundreds of thousands of its versions (measured: 14k views/s fell to 0.8k at 450k commits).
    /// </summary>
    public BackendView OpenView()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Interlocked.Increment(ref openViews);
        try
        {
            Snapshot snapshot;
            ulong index;
            lock (commitLock)
            {
                snapshot = db.CreateSnapshot();
                index = appliedIndex;
            }
            return new BackendView(this, db, snapshot, index);
        }
        catch
        {
            Interlocked.Decrement(ref openViews);
            throw;
        }
    }

    /// <summary>
    /// Writes a RocksDB checkpoint (table files hard-linked, memtables flushed first) of the current state into
    /// <paramref name="directory"/>, which must not exist. It opens as a backend with the same content.
    /// </summary>
    /// <returns>The applied index the checkpoint holds (commits may run concurrently, so it is read back).</returns>
    public ulong Checkpoint(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ObjectDisposedException.ThrowIf(disposed, this);
        var fullPath = Path.GetFullPath(directory);
        if (Path.Exists(fullPath))
        {
            throw new IOException($"Checkpoint target '{fullPath}' already exists.");
        }
        using (var checkpoint = db.Checkpoint())
        {
            checkpoint.Save(fullPath, logSizeForFlush: 0);
        }
        return ReadCheckpointIndex(fullPath);
    }

    /// <summary>Closes the database. Throws if views are still open: closing under a live snapshot is a caller bug.</summary>
    public void Dispose()
    {
        lock (commitLock)
        {
            if (disposed)
            {
                return;
            }
            if (Volatile.Read(ref openViews) != 0)
            {
                throw new InvalidOperationException($"{openViews} backend view(s) are still open on '{Directory}'.");
            }
            disposed = true;
            db.Dispose();
        }
    }

    internal void ViewClosed() => Interlocked.Decrement(ref openViews);

    private static KvBackend OpenExisting(string fullPath, KvBackendOptions options)
    {
        var (dbOptions, tableOptions, cache) = BackendCreator.BuildOptions(options, createIfMissing: false);
        RocksDb db;
        try
        {
            db = RocksDb.Open(dbOptions, fullPath);
        }
        catch (RocksDbException e)
        {
            throw new BackendFormatException(fullPath, $"RocksDB cannot open it: {e.Message}", e);
        }
        try
        {
            var index = ReadMetadata(fullPath, key => db.Get(key));
            return new KvBackend(fullPath, db, dbOptions, tableOptions, cache, index);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>Checks the format marker and returns the applied index; throws naming the path otherwise.</summary>
    internal static ulong ReadMetadata(string fullPath, Func<byte[], byte[]?> get)
    {
        var format = get(KeySpace.FormatKey);
        if (format is null)
        {
            throw new BackendFormatException(fullPath, "it is a RocksDB database without the RaftKv format marker.");
        }
        if (!format.AsSpan().SequenceEqual(KeySpace.FormatValue))
        {
            throw new BackendFormatException(fullPath,
                $"unknown format marker '{System.Text.Encoding.UTF8.GetString(format)}'.");
        }
        var index = get(KeySpace.AppliedIndexKey);
        if (index is null)
        {
            throw new BackendFormatException(fullPath, "metadata missing: no applied index.");
        }
        if (index.Length != sizeof(ulong))
        {
            throw new BackendFormatException(fullPath, $"metadata corrupt: applied index has {index.Length} bytes, not 8.");
        }
        return BinaryPrimitives.ReadUInt64BigEndian(index);
    }

    /// <summary>The applied index of a closed backend directory (a checkpoint, a restored or staged backend), opened read-only.</summary>
    internal static ulong ReadCheckpointIndex(string fullPath)
    {
        using var readOnly = RocksDb.OpenReadOnly(new DbOptions(), fullPath, errorIfLogFileExists: false);
        return ReadMetadata(fullPath, key => readOnly.Get(key));
    }

    private static bool IsMissingOrEmpty(string fullPath)
    {
        if (File.Exists(fullPath))
        {
            throw new BackendFormatException(fullPath, "it is a file, not a directory.");
        }
        return !System.IO.Directory.Exists(fullPath) || !System.IO.Directory.EnumerateFileSystemEntries(fullPath).Any();
    }

    private long PropertyBytes(string name)
    {
        var text = db.GetProperty(name);
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : 0;
    }

    [DoesNotReturn]
    private static void ThrowIndexNotIncreasing(ulong given, ulong current) =>
        throw new ArgumentOutOfRangeException(nameof(appliedIndex), given,
            $"Applied index must strictly increase: {given} given after {current}.");
}
