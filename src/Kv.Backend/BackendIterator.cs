namespace RaftKv.Kv.Backend;

/// <summary>
/// Ordered keys of one <see cref="BackendView"/> within a range. Starts at the first key of the range. Key and
/// Value spans point into native memory and are valid until the next move. Not thread-safe.
/// </summary>
public sealed class BackendIterator : IDisposable
{
    private readonly BackendView view;
    private readonly RocksDbSharp.Iterator inner;
    private readonly byte[] lowerStored; // Stored forms (with the user prefix) of the range's bounds.
    private readonly byte[]? upperStored; // Null: no upper bound (a scan of every space).
    private bool valid;
    private bool disposed;

    internal BackendIterator(BackendView view, RocksDbSharp.Iterator inner, byte[] lowerStored, byte[]? upperStored)
    {
        this.view = view;
        this.inner = inner;
        this.lowerStored = lowerStored;
        this.upperStored = upperStored;
        inner.Seek(lowerStored);
        Settle();
    }

    /// <summary>True while positioned on a key inside the range.</summary>
    public bool Valid => valid;

    /// <summary>The current key, without the backend's prefix.</summary>
    public ReadOnlySpan<byte> Key => CheckValid().GetKeySpan()[1..];

    /// <summary>The current key as stored, with the first byte that names its space (<see cref="KeySpace"/>).</summary>
    internal ReadOnlySpan<byte> StoredKey => CheckValid().GetKeySpan();

    /// <summary>The current value.</summary>
    public ReadOnlySpan<byte> Value => CheckValid().GetValueSpan();

    /// <summary>Moves to the next key; <see cref="Valid"/> turns false past the range.</summary>
    public void Next()
    {
        CheckValid().Next();
        Settle();
    }

    /// <summary>Moves to the first key at or after <paramref name="key"/> (and not before the range).</summary>
    public void Seek(ReadOnlySpan<byte> key)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var stored = KeySpace.UserKey(key);
        inner.Seek(stored.AsSpan().SequenceCompareTo(lowerStored) < 0 ? lowerStored : stored);
        Settle();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            inner.Dispose();
            view.IteratorClosed();
        }
    }

    private void Settle()
    {
        valid = inner.Valid() && (upperStored is null || inner.GetKeySpan().SequenceCompareTo(upperStored) < 0);
        if (!inner.Valid())
        {
            // Valid() is also false on an I/O or checksum error: surface it instead of ending the range early.
            RocksDbSharp.Native.Instance.rocksdb_iter_get_error(inner.Handle);
        }
    }

    private RocksDbSharp.Iterator CheckValid()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!valid)
        {
            throw new InvalidOperationException("The backend iterator is not positioned on a key.");
        }
        return inner;
    }
}
