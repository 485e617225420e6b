namespace RaftKv.Server.Forwarding;

/// <summary>
/// Lets a caller wait until this member's store has applied a log index: a write forwarded to the leader is answered
/// once the leader applied it, and the follower that forwarded it waits here until it applied it too, so the client
/// reads its own write from that member, serializable reads and watches included (as etcd's follower waits for its own
/// apply of the entry). Woken by the state machine after every entry and snapshot (<see cref="Notify"/>).
/// </summary>
/// <param name="appliedIndex">The store's applied index now; read on any thread.</param>
public sealed class AppliedIndexWaiter(Func<ulong> appliedIndex)
{
    /// <summary>Most callers waiting at once (one per forwarded write in flight); beyond, a caller does not wait.</summary>
    public const int WaitersMax = 100_000;

    private readonly Lock _lock = new();
    private readonly PriorityQueue<TaskCompletionSource, ulong> _waiting = new();

    /// <summary>Callers waiting now.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock) return _waiting.Count;
        }
    }

    /// <summary>
    /// Completes once the applied index is at least <paramref name="index"/>. False, at once, when
    /// <see cref="WaitersMax"/> are waiting (the caller goes on without the guarantee rather than queue without bound).
    /// </summary>
    public async ValueTask<bool> WaitAsync(ulong index, CancellationToken cancellationToken)
    {
        if (appliedIndex() >= index) return true;
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_waiting.Count >= WaitersMax) return false;
            _waiting.Enqueue(waiter, index);
        }
        Notify(); // the index may have moved between the first look and the enqueue
        await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Wakes every caller whose index has been applied. Cheap when none is waiting (one lock, one peek).</summary>
    public void Notify()
    {
        var applied = appliedIndex();
        lock (_lock)
        {
            while (_waiting.TryPeek(out var waiter, out var index) && index <= applied)
            {
                _waiting.Dequeue();
                waiter.TrySetResult();
            }
        }
    }
}
