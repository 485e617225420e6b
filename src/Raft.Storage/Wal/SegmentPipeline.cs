namespace RaftKv.Raft.Storage.Wal;

/// <summary>
/// Keeps the next log segment file ready, like etcd's file pipeline: while the log fills the active segment, a task on
/// the thread pool writes the next segment's header and zero fill to a temporary file and syncs it (1 MiB at a time, so
/// it never queues a whole segment's writeback in front of the log's own syncs), so a rotation only renames it into
/// place instead of writing a whole segment on the appending thread. At most one file is prepared.
/// Used from the log's thread only; the background task touches nothing but its own temporary file.
/// </summary>
/// <remarks>
/// The file is <c>{sequence:D20}.wal.prepared.tmp</c>: recovery never reads it as a segment and deletes it (like every
/// <c>*.tmp</c>) at open, so a crash at any point leaves a directory recovery accepts. The name differs from the
/// <c>{sequence:D20}.wal.tmp</c> of a synchronous creation, so the two never meet.
/// </remarks>
internal sealed class SegmentPipeline(string directory, StorageOptions options) : IDisposable
{
    private Preparation? _current;
    private bool _disposed;

    private sealed record Preparation(ulong Sequence, string TemporaryPath, Task<uint> Task, CancellationTokenSource Cancel);

    /// <summary>Sequence number of the segment being prepared or ready, or null when there is none.</summary>
    public ulong? PendingSequence => _current?.Sequence;

    /// <summary>Temporary file of the segment being prepared or ready, or null when there is none.</summary>
    public string? PendingTemporaryPath => _current?.TemporaryPath;

    /// <summary>The background work for the pending segment (for tests), or null when there is none.</summary>
    internal Task? PendingTask => _current?.Task;

    /// <summary>
    /// The last failure of a background preparation, seen at a rotation or by <see cref="WaitUntilPrepared"/>. The
    /// rotation then creates the segment itself, so a lasting failure (full disk) surfaces from that attempt.
    /// </summary>
    public StorageException? LastFailure { get; private set; }

    /// <summary>Marks a prepared segment's temporary file: <c>{sequence:D20}.wal.prepared.tmp</c>.</summary>
    public const string PreparedExtension = ".prepared" + WalFormat.TemporaryExtension;

    /// <summary>The temporary file segment <paramref name="sequence"/> is prepared in.</summary>
    public static string PreparedPath(string directory, ulong sequence) =>
        Path.Combine(directory, WalFormat.SegmentFileName(sequence)) + PreparedExtension;

    /// <summary>
    /// Starts preparing segment <paramref name="sequence"/> in the background. A preparation for another sequence is
    /// cancelled and its file deleted first; one for the same sequence is kept.
    /// </summary>
    public void Start(ulong sequence)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_current is { } current)
        {
            if (current.Sequence == sequence) return;
            _current = null;
            Discard(current);
        }
        var tmp = PreparedPath(directory, sequence);
        var cancel = new CancellationTokenSource();
        var token = cancel.Token;
        var task = Task.Run(() => WriteAheadLog.WriteSegmentFile(tmp, options, sequence, syncEachChunk: true, token), token);
        _current = new Preparation(sequence, tmp, task, cancel);
    }

    /// <summary>
    /// Takes the prepared file of segment <paramref name="sequence"/>, waiting for it if it is still being written.
    /// False when there is none to take: nothing was started, it was for another sequence (discarded), or it failed
    /// (its file is gone; the failure is kept in <see cref="LastFailure"/>). The caller then creates the segment itself.
    /// A failure that is not an I/O error (a bug) is rethrown here, on the caller's thread.
    /// </summary>
    public bool TryTake(ulong sequence, out string temporaryPath, out uint headerCrc)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        temporaryPath = string.Empty;
        headerCrc = 0;
        if (_current is not { } current) return false;
        _current = null;
        if (current.Sequence != sequence)
        {
            Discard(current);
            return false;
        }
        try
        {
            headerCrc = current.Task.GetAwaiter().GetResult();
        }
        catch (StorageException e)
        {
            LastFailure = e;
            return false;
        }
        finally
        {
            current.Cancel.Dispose();
        }
        temporaryPath = current.TemporaryPath;
        return true;
    }

    /// <summary>Waits for the pending preparation (for tests). True when its file is ready, false when it failed or there is none.</summary>
    internal bool WaitUntilPrepared()
    {
        if (_current is not { } current) return false;
        try
        {
            current.Task.Wait();
            return true;
        }
        catch (AggregateException e)
        {
            if (e.InnerException is StorageException failure) LastFailure = failure;
            return false;
        }
    }

    /// <summary>Cancels and waits for the background work and deletes the unused file: afterwards no thread touches the directory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current is not { } current) return;
        _current = null;
        Discard(current);
    }

    private static void Discard(Preparation preparation)
    {
        preparation.Cancel.Cancel();
        try
        {
            preparation.Task.Wait();
        }
        catch (AggregateException)
        {
            // Cancelled or failed: the file is discarded either way (the task deletes it itself on failure).
        }
        finally
        {
            preparation.Cancel.Dispose();
        }
        WriteAheadLog.TryDelete(preparation.TemporaryPath);
    }
}
