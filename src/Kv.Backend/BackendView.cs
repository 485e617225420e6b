using System.Diagnostics.CodeAnalysis;
using RocksDbSharp;

namespace RaftKv.Kv.Backend;

/// <summary>
/// A consistent point-in-time view of a backend (a RocksDB snapshot): later commits are not visible. May be read
/// from several threads; dispose its iterators before it, and it before the backend.
/// </summary>
public sealed class BackendView : IDisposable
{
    private readonly KvBackend owner;
    private readonly RocksDb db;
    private readonly Snapshot snapshot;
    private int openIterators;
    private int disposed;

    internal BackendView(KvBackend owner, RocksDb db, Snapshot snapshot, ulong appliedIndex)
    {
        this.owner = owner;
        this.db = db;
        this.snapshot = snapshot;
        AppliedIndex = appliedIndex;
        try
        {
            ReadOptions = new ReadOptions().SetSnapshot(snapshot).SetVerifyChecksums(true);
        }
        catch
        {
            snapshot.Dispose();
            throw;
        }
    }

    /// <summary>The applied index of the state this view shows.</summary>
    public ulong AppliedIndex { get; }

    internal ReadOptions ReadOptions { get; }

    /// <summary>Reads <paramref name="key"/> as of the view; false when absent.</summary>
    public bool TryGet(ReadOnlySpan<byte> key, [NotNullWhen(true)] out byte[]? value)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var rented = KeySpace.RentIfLarge(key.Length);
        try
        {
            Span<byte> buffer = rented.Length > 0 ? rented : stackalloc byte[KeySpace.StackKeyBytesMax];
            value = db.Get(KeySpace.UserKey(key, buffer), null, ReadOptions);
            return value is not null;
        }
        finally
        {
            KeySpace.Return(rented);
        }
    }

    /// <summary>An iterator over keys in [<paramref name="fromInclusive"/>, <paramref name="toExclusive"/>), in byte order.</summary>
    public BackendIterator Iterate(ReadOnlySpan<byte> fromInclusive, ReadOnlySpan<byte> toExclusive) =>
        NewIterator(KeySpace.UserKey(fromInclusive), KeySpace.UserKey(toExclusive));

    /// <summary>An iterator over every key from <paramref name="fromInclusive"/> to the last one, in byte order.</summary>
    public BackendIterator IterateFrom(ReadOnlySpan<byte> fromInclusive) =>
        NewIterator(KeySpace.UserKey(fromInclusive), KeySpace.UserSpaceEnd);

    /// <summary>
    /// An iterator over every stored key of every space (metadata and user, prefix included; read with
    /// <see cref="BackendIterator.StoredKey"/>), for shipping the whole backend. Reads bypass the block cache, so a
    /// full scan does not evict the blocks that serve reads.
    /// </summary>
    internal BackendIterator IterateAllStored()
    {
        // Kept alive by the RocksDB iterator, which holds its read options.
        var scan = new ReadOptions().SetSnapshot(snapshot).SetVerifyChecksums(true).SetFillCache(false);
        return NewIterator([], upperStored: null, scan);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Volatile.Read(ref openIterators) != 0)
        {
            throw new InvalidOperationException($"{openIterators} iterator(s) are still open on this backend view.");
        }
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            snapshot.Dispose();
            owner.ViewClosed();
        }
    }

    internal void IteratorClosed() => Interlocked.Decrement(ref openIterators);

    private BackendIterator NewIterator(byte[] lowerStored, byte[]? upperStored, ReadOptions? readOptions = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        Interlocked.Increment(ref openIterators);
        try
        {
            return new BackendIterator(this, db.NewIterator(null, readOptions ?? ReadOptions), lowerStored, upperStored);
        }
        catch
        {
            Interlocked.Decrement(ref openIterators);
            throw;
        }
    }
}
