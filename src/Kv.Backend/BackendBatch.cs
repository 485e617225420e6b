using RocksDbSharp;

namespace RaftKv.Kv.Backend;

/// <summary>
/// The puts and deletes of one applied Raft batch, written by <see cref="KvBackend.Commit"/> together with the
/// applied index. Reusable: a commit clears it. Not thread-safe: one writer fills and commits it.
/// </summary>
public sealed class BackendBatch : IDisposable
{
    /// <summary>
    /// The most operations one batch takes: a limit, so a runaway apply loop fails instead of swelling (4 Mi
    /// operations of MVCC records are about 200 MB of batch).
    /// </summary>
    public const int OperationsMax = 4 * 1024 * 1024;

    private bool disposed;

    /// <summary>The RocksDB batch; the applied-index put is appended to it at commit.</summary>
    internal WriteBatch Inner { get; } = new();

    /// <summary>Puts and deletes added since the last commit or clear.</summary>
    public int Count { get; private set; }

    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> when the batch commits.</summary>
    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        CheckCanAdd();
        var rented = KeySpace.RentIfLarge(key.Length);
        try
        {
            Span<byte> buffer = rented.Length > 0 ? rented : stackalloc byte[KeySpace.StackKeyBytesMax];
            Inner.Put(KeySpace.UserKey(key, buffer), value);
        }
        finally
        {
            KeySpace.Return(rented);
        }
        Count++;
    }

    /// <summary>Removes <paramref name="key"/> when the batch commits; a missing key is not an error.</summary>
    public void Delete(ReadOnlySpan<byte> key)
    {
        CheckCanAdd();
        var rented = KeySpace.RentIfLarge(key.Length);
        try
        {
            Span<byte> buffer = rented.Length > 0 ? rented : stackalloc byte[KeySpace.StackKeyBytesMax];
            Inner.Delete(KeySpace.UserKey(key, buffer));
        }
        finally
        {
            KeySpace.Return(rented);
        }
        Count++;
    }

    /// <summary>Drops every operation added so far.</summary>
    public void Clear()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Inner.Clear();
        Count = 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            Inner.Dispose();
        }
    }

    private void CheckCanAdd()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (Count >= OperationsMax)
        {
            throw new InvalidOperationException($"A backend batch holds at most {OperationsMax} operations.");
        }
    }
}
