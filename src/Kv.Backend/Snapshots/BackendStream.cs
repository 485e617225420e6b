using RaftKv.Raft.Storage.Files;

namespace RaftKv.Kv.Backend.Snapshots;

/// <summary>
/// A whole backend as a byte stream, for a Raft snapshot sent from the leader's live backend to a follower:
/// <see cref="Write"/> encodes every stored key and value of a view (metadata and user space) in key order, in
/// checksummed frames; <see cref="Restore"/> builds a new backend directory from such a stream. The byte format is
/// in README.md beside this file.
/// </summary>
/// <remarks>
/// Memory is bounded by the frame size, not the state: both sides hold one frame (about
/// <see cref="FrameTargetBytes"/>) plus RocksDB's configured buffers. Both methods are synchronous and run on the
/// caller's thread; the cancellation token is checked once per frame. Several may run at once on different views
/// and directories.
/// </remarks>
public static class BackendStream
{
    /// <summary>The payload size the writer fills a frame to before starting the next (a bigger record gets a frame of its own).</summary>
    public const int FrameTargetBytes = 1 << 20;

    /// <summary>The largest frame payload accepted, so a damaged length cannot make the reader allocate without bound; also the largest record (key + value + 8).</summary>
    public const int FramePayloadBytesMax = 64 << 20;

    private const string BuildingSuffix = ".restoring";

    /// <summary>
    /// Writes every stored record of <paramref name="view"/> to <paramref name="destination"/> (header, frames, trailer),
    /// then flushes it. The view may be read by others meanwhile, and the backend may go on committing: the view is a
    /// point-in-time snapshot. Reads bypass the block cache, so the scan does not evict the hot blocks of reads.
    /// </summary>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="InvalidOperationException">A record exceeds <see cref="FramePayloadBytesMax"/>.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the destination holds an unterminated prefix.</exception>
    public static long Write(BackendView view, Stream destination, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(destination);
        using var writer = new BackendStreamWriter(destination, view.AppliedIndex);
        using (var it = view.IterateAllStored())
        {
            for (; it.Valid; it.Next())
            {
                writer.Add(it.StoredKey, it.Value, ct);
            }
        }
        writer.Finish(ct);
        return (long)writer.BytesWritten;
    }

    /// <summary>
    /// Creates a new backend at <paramref name="directory"/> from <paramref name="source"/>, verifying every frame, the
    /// key order and the trailer, and makes it durable. Reads exactly the stream's bytes (not past the trailer).
    /// Returns the applied index, which the header and the metadata record must agree on. Open the result with
    /// <see cref="KvBackend.Open"/>.
    /// </summary>
    /// <remarks>
    /// The database is built in <c>&lt;directory&gt;.restoring</c> (an earlier leftover there is deleted), with its
    /// metadata written last, then fsynced and renamed to <paramref name="directory"/>, and the parent is fsynced.
    /// So <paramref name="directory"/> exists only complete; after a crash at most the <c>.restoring</c> sibling is left
    /// (without a format marker, so it does not open as a backend). On any error that sibling is deleted.
    /// </remarks>
    /// <exception cref="InvalidDataException">The stream is foreign, damaged, truncated, out of order or inconsistent; the message names the block or record and its byte offset.</exception>
    /// <exception cref="IOException"><paramref name="directory"/> already exists, or a disk error.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static ulong Restore(Stream source, string directory, KvBackendOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var fullPath = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        if (Path.Exists(fullPath))
        {
            throw new IOException($"Restore target '{fullPath}' already exists.");
        }
        var parent = Path.GetDirectoryName(fullPath)!;
        DurableDirectory.Create(parent);
        var building = fullPath + BuildingSuffix;
        DeleteIfExists(building);
        try
        {
            var index = Load(source, building, options, ct);
            Directory.Move(building, fullPath);
            DurableDirectory.Sync(parent);
            return index;
        }
        catch
        {
            TryDelete(building);
            throw;
        }
    }

    private static ulong Load(Stream source, string building, KvBackendOptions options, CancellationToken ct)
    {
        using var reader = new BackendStreamReader(source);
        reader.ReadHeader();
        using var loader = BackendLoader.Create(building, options);
        var meta = new MetaRecords();
        while (reader.ReadFrame(ct))
        {
            while (reader.TryReadRecord(out var key, out var value))
            {
                if (MetaRecords.IsMeta(key))
                {
                    meta.Hold(key, value, reader.RecordLocation);
                }
                else
                {
                    loader.Put(key, value);
                }
            }
        }
        meta.Verify(reader.AppliedIndex);
        return loader.Complete(meta);
    }

    /// <summary>Deletes a failed build, keeping the original error if the delete fails too (the next restore retries it).</summary>
    private static void TryDelete(string path)
    {
        try
        {
            DeleteIfExists(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The caller's exception says what went wrong; a leftover is removed by the next restore to this path.
        }
    }

    private static void DeleteIfExists(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
