using Google.Protobuf;
using RaftKv.Kv.Alarms;
using RaftKv.Kv.Backend;
using RaftKv.Kv.Backend.Snapshots;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>
/// The state on disk, in one <see cref="KvBackend"/> (RocksDB): each applied entry is one atomic backend write of
/// its versions, its changes, the scalar record (and the cluster record when the entry sets it) and the applied index; each read runs on its own backend view, so
/// readers never wait for the applier nor it for them. Opening reads the scalar record only: nothing is rebuilt.
/// Memory is bounded by the backend's caches, not by the data.
/// </summary>
internal sealed partial class DiskEngine : IKvEngine
{
    // Readers and the applier hold it shared; only a switch to another backend (snapshot install) holds it alone.
    private readonly ReaderWriterLockSlim swap = new(LockRecursionPolicy.NoRecursion);
    private readonly KvBackendOptions backendOptions;
    private readonly StateDirectory? root;
    private KvBackend backend;
    private StoreScalars scalars = null!; // set by Republish in the constructor

    // The scalars, alarms and cluster record of the last commit, published with it under publishLock, so a view and
    // the scalars it is read with always belong to the same commit, without reading the records a commit rewrites.
    private readonly object publishLock = new();
    private (DiskMeta Meta, AlarmSet Alarms, ReadOnlyMemory<byte> ClusterRecord, ReadOnlyMemory<byte> AuthRecord) published;

    private DiskEngine(KvBackend backend, KvBackendOptions backendOptions, StateDirectory? root)
    {
        this.backend = backend;
        this.backendOptions = backendOptions;
        this.root = root;
        Republish();
    }

    /// <summary>Operations one entry may write; lowered by tests to reach the limit with a few keys.</summary>
    internal int OperationsLimit { get; set; } = DiskApplyState.OperationsMax;

    /// <summary>Changes one compaction step visits; lower in tests, to exercise compactions carried out in steps.</summary>
    internal int CompactionStepChanges { get; set; } = DiskApplyState.ChangesPerStep;

    /// <summary>The backend's directory.</summary>
    public string Directory => backend.Directory;

    public StoreScalars Scalars => Volatile.Read(ref scalars);

    /// <summary>
    /// Opens (or creates) the member's state root at <paramref name="directory"/>: the backend its pointer file
    /// names, and room to stage snapshots beside it. What an interrupted switch left behind is removed first.
    /// </summary>
    public static DiskEngine Open(string directory, KvBackendOptions backendOptions)
    {
        var root = StateDirectory.Open(directory, backendOptions);
        return new DiskEngine(KvBackend.Open(root.LivePath, backendOptions), backendOptions, root);
    }

    public T Read<T>(Func<IMvccView, T> read)
    {
        swap.EnterReadLock();
        try
        {
            using var view = OpenPublished();
            return read(view);
        }
        finally
        {
            swap.ExitReadLock();
        }
    }

    public T Apply<T>(Func<IMvccState, T> apply)
    {
        swap.EnterReadLock();
        try
        {
            using var committed = OpenPublished();
            using var batch = new BackendBatch();
            var state = new DiskApplyState(backend, batch, committed, committed.Alarms.Clone(), OperationsLimit, CompactionStepChanges);
            var result = apply(state);
            if (!state.Applied)
            {
                return result; // the entry was already held (it came with a snapshot): nothing to write
            }

            lock (publishLock)
            {
                state.Commit();
                published = (state.Meta, state.Alarms, state.ClusterRecord, state.AuthRecord);
            }

            Volatile.Write(ref scalars, StoreScalars.Of(state));
            return result;
        }
        finally
        {
            swap.ExitReadLock();
        }
    }

    // A view of the last commit with the scalars published with it.
    private DiskView OpenPublished()
    {
        lock (publishLock)
        {
            return new DiskView(backend.OpenView(), published.Meta, published.Alarms, published.ClusterRecord, published.AuthRecord);
        }
    }

    // Reads the scalars of the backend now open (at open and after a switch to another backend).
    private void Republish()
    {
        using var view = new DiskView(backend.OpenView(), backend.Directory);
        lock (publishLock)
        {
            published = (view.Meta, view.Alarms, view.ClusterRecord, view.AuthRecord);
        }

        Volatile.Write(ref scalars, StoreScalars.Of(view));
    }

    /// <summary>Makes every applied entry durable (RocksDB's WAL fsynced): call before the Raft log below the applied index is released.</summary>
    public void FlushDurable()
    {
        swap.EnterReadLock();
        try
        {
            backend.FlushDurable();
        }
        finally
        {
            swap.ExitReadLock();
        }
    }

    /// <summary>The backend's on-disk size (etcd's db size), from RocksDB's estimates.</summary>
    public long PhysicalSizeBytes
    {
        get
        {
            swap.EnterReadLock(); // not while a switch disposes the backend
            try
            {
                return backend.ApproximateSizeBytes;
            }
            finally
            {
                swap.ExitReadLock();
            }
        }
    }

    /// <summary>Asks RocksDB to compact the whole key space now (etcd's defragment), online: reads and writes go on.</summary>
    public void CompactPhysically()
    {
        swap.EnterReadLock();
        try
        {
            backend.CompactAll();
        }
        finally
        {
            swap.ExitReadLock();
        }
    }

    public void CheckInvariants() => Read(view =>
    {
        long size = 0, count = 0;
        var newest = new Dictionary<ByteString, RevisionEntry>();
        var disk = (DiskView)view;
        foreach (var (key, entry) in disk.StoredVersions())
        {
            size += MvccState.EntryCost(key.Length, entry.Value?.Length ?? 0);
            count++;
            newest[key] = entry; // oldest first: the last one seen is the newest
            if (entry.Main > view.CurrentRevision)
            {
                throw new InvalidOperationException($"a version at {entry.Main} is newer than the revision {view.CurrentRevision}");
            }
        }

        // Every key with a version has a pointer to its newest, and no other pointer exists.
        var pointers = disk.CountPointers();
        foreach (var (key, entry) in newest)
        {
            if (!view.TryGetVersion(key.Span, view.CurrentRevision, out var found) || found.Main != entry.Main || found.Sub != entry.Sub)
            {
                throw new InvalidOperationException($"the newest-version pointer of '{key.ToStringUtf8()}' does not name ({entry.Main}, {entry.Sub})");
            }
        }

        if (pointers != newest.Count)
        {
            throw new InvalidOperationException($"{pointers} newest-version pointers for {newest.Count} keys with versions");
        }

        if (size != view.SizeBytes || count != view.EntryCount)
        {
            throw new InvalidOperationException($"size {view.SizeBytes}/{view.EntryCount} but versions add up to {size}/{count}");
        }

        CheckAttachments(view, newest);
        return 0;
    });

    // Every live key whose newest version names a granted lease is attached to it, no other key is, and the count is right.
    private static void CheckAttachments(IMvccView view, Dictionary<ByteString, RevisionEntry> newest)
    {
        var expected = newest.Where(n => !n.Value.IsTombstone && n.Value.Lease != 0 && view.Leases.TryGetTtl(n.Value.Lease, out _))
            .Select(n => (n.Value.Lease, n.Key.ToBase64())).ToHashSet();
        var actual = new HashSet<(long, string)>();
        long leases = 0;
        foreach (var (id, _, _) in view.Leases.All())
        {
            leases++;
            foreach (var key in view.Leases.Keys(id))
            {
                actual.Add((id, key.ToBase64()));
            }
        }

        if (!expected.SetEquals(actual) || leases != view.Leases.Count)
        {
            throw new InvalidOperationException($"{actual.Count} keys attached to {leases} leases (count {view.Leases.Count}), {expected.Count} name a granted lease");
        }
    }

    public void Dispose()
    {
        backend.Dispose();
        swap.Dispose();
    }
}
