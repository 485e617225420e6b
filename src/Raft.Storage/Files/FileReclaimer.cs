namespace RaftKv.Raft.Storage.Files;

/// <summary>
/// Runs the storage's slow file-system housekeeping (directory syncs, deleting released log segments and old
/// snapshot files) on a thread-pool thread, one job at a time in the order given, so the node's thread never waits
/// for the disk to do it. Only work that safety does not wait for belongs here: a crash before a job ran leaves
/// extra files, which the next open tolerates.
/// </summary>
/// <remarks>
/// After a job fails, the rest are skipped (a later deletion may rely on an earlier sync) and <see cref="Failure"/>
/// holds the error; the storage then refuses writes, as it does for a failure on its own thread.
/// </remarks>
internal sealed class FileReclaimer : IDisposable
{
    /// <summary>Jobs queued at most; the caller waits beyond (one snapshot publication queues three).</summary>
    public const int PendingJobsMax = 16;

    private readonly SemaphoreSlim _slots = new(PendingJobsMax, PendingJobsMax);
    private readonly Lock _gate = new();
    private Task _tail = Task.CompletedTask;
    private Exception? _failure;

    /// <summary>The first job's failure, or null.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Queues <paramref name="job"/> after every job queued before it.</summary>
    public void Enqueue(Action job)
    {
        ArgumentNullException.ThrowIfNull(job);
        _slots.Wait();
        lock (_gate)
        {
            _tail = _tail.ContinueWith(_ => Run(job), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <summary>Waits until every job queued so far has run (or been skipped after a failure).</summary>
    public void Drain()
    {
        Task tail;
        lock (_gate) tail = _tail;
        tail.Wait();
    }

    /// <summary>Drains.</summary>
    public void Dispose() => Drain();

    private void Run(Action job)
    {
        try
        {
            if (Failure is null) job();
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
        }
        finally
        {
            _slots.Release();
        }
    }
}
