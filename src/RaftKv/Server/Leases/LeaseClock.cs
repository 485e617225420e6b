using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Raft;

namespace RaftKv.Server.Leases;

/// <summary>
/// The lease clock, which only the leader keeps (etcd's primary lessor): a deadline per lease in memory, never in
/// the log or the store. A member that becomes leader starts every lease's countdown at its checkpointed remaining
/// TTL, or at its full TTL when it has none (etcd's <c>Promote</c> with <c>RemainingTTL()</c>), so a leader change
/// never expires leases early, only late, by at most the time the change took plus one checkpoint interval; a member
/// that stops leading forgets every deadline, and a follower expires nothing.
/// </summary>
/// <remarks>
/// <para>Checkpoints (etcd's LeaseCheckpoint): when an interval is given, each lease is due for one that long after
/// its countdown started or was last checkpointed; <see cref="TakeDueCheckpoints"/> hands out the remaining TTLs
/// (rounded up, as etcd does) of due leases that have run down at all, for <see cref="LeaseCheckpointer"/> to put
/// through the log. Without checkpoints, a lease whose leader changes more often than its TTL never expires.</para>
/// <para>Threads: the expiry and checkpoint loops, keep-alive handlers and the Raft apply thread
/// (<see cref="OnApplied"/>) share it under one lock; every method is O(1) but <see cref="TakeExpired"/>,
/// <see cref="TakeDueCheckpoints"/> and the promotion, which are O(leases).</para>
/// </remarks>
public sealed class LeaseClock
{
    /// <summary>After a revoke was proposed for an expired lease, how long before it is proposed again if it is still there.</summary>
    public static readonly TimeSpan RevokeRetryAfter = TimeSpan.FromSeconds(3);

    private readonly object gate = new();
    private readonly Dictionary<long, Deadline> deadlines = [];
    private readonly Func<RaftStatus?> status;
    private readonly KvStore store;
    private readonly TimeProvider time;

    // Null: checkpoints are off. Otherwise in timestamp ticks.
    private readonly long? checkpointIntervalTicks;

    // Invariant: deadlines is empty unless leaderTerm is the term this member leads in.
    private ulong leaderTerm;
    private long granted, revoked, expired, checkpointed;

    /// <param name="checkpointInterval">How long after its countdown starts, or its last checkpoint, a lease is due for one; null: never (checkpoints off).</param>
    public LeaseClock(Func<RaftStatus?> status, KvStore store, TimeProvider time, TimeSpan? checkpointInterval = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (checkpointInterval is { } interval)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(checkpointInterval));
            checkpointIntervalTicks = (long)Math.Min(interval.TotalSeconds * time.TimestampFrequency, long.MaxValue / 4);
        }

        this.status = status;
        this.store = store;
        this.time = time;
    }

    /// <summary>Grants applied on this member.</summary>
    public long Granted => Interlocked.Read(ref granted);

    /// <summary>Revokes applied on this member (by clients and by expiry).</summary>
    public long Revoked => Interlocked.Read(ref revoked);

    /// <summary>Leases this member, as leader, revoked because they expired.</summary>
    public long Expired => Interlocked.Read(ref expired);

    /// <summary>Remaining TTLs this member, as leader, put through the log in checkpoints that committed.</summary>
    public long Checkpointed => Interlocked.Read(ref checkpointed);

    /// <summary>Counts one expiry revoke that committed.</summary>
    public void CountExpired() => Interlocked.Increment(ref expired);

    /// <summary>Counts the checkpoints of one committed LeaseCheckpoint command.</summary>
    public void CountCheckpointed(int count) => Interlocked.Add(ref checkpointed, count);

    /// <summary>
    /// Whether this member leads now; on the first call of a new term of leadership, every lease in the store gets its
    /// checkpointed remaining TTL from now, or its full TTL when it has none; on the first call after leadership
    /// ended, every deadline is dropped.
    /// </summary>
    public bool IsLeading()
    {
        var now = status();
        lock (gate)
        {
            if (now is null || now.Role != RaftRole.Leader)
            {
                deadlines.Clear();
                leaderTerm = 0;
                return false;
            }

            if (leaderTerm != now.Term)
            {
                deadlines.Clear();
                var start = time.GetTimestamp();
                foreach (var lease in store.Leases(Kv.Leases.LeaseLimits.MaxLeases))
                {
                    deadlines[lease.Id] = Start(start, lease.CountdownStartSeconds, lease.GrantedTtlSeconds);
                }

                leaderTerm = now.Term;
            }

            return true;
        }
    }

    /// <summary>
    /// Called on the apply thread with every applied entry: a grant starts its countdown (when leading), a revoke
    /// ends it; both are counted.
    /// </summary>
    public void OnApplied(ApplyResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        switch (result.Response)
        {
            case LeaseGrantResponse grant:
                Interlocked.Increment(ref granted);
                lock (gate)
                {
                    if (leaderTerm != 0)
                    {
                        deadlines[grant.ID] = Start(time.GetTimestamp(), grant.TTL, grant.TTL);
                    }
                }

                break;
            case LeaseRevokeResponse:
                Interlocked.Increment(ref revoked);
                break;
        }

        // The revoked id is in the command, not the response: forget deadlines of leases the store no longer has
        // lazily, in TakeExpired and Renew, which look at the store.
    }

    /// <summary>
    /// The leader's keep-alive: restarts lease <paramref name="id"/>'s countdown at its full TTL and returns the TTL;
    /// 0 when the lease does not exist (etcd answers a keep-alive of an unknown lease with TTL 0). Only while leading.
    /// </summary>
    public long Renew(long id)
    {
        var lease = store.FindLease(id);
        lock (gate)
        {
            if (lease is null)
            {
                deadlines.Remove(id);
                return 0;
            }

            if (leaderTerm != 0)
            {
                deadlines[id] = Start(time.GetTimestamp(), lease.GrantedTtlSeconds, lease.GrantedTtlSeconds);
            }

            return lease.GrantedTtlSeconds;
        }
    }

    /// <summary>Remaining whole seconds of lease <paramref name="id"/> (at least 0) and its granted TTL; null when it does not exist.</summary>
    public (long RemainingSeconds, long GrantedSeconds)? TimeToLive(long id)
    {
        var lease = store.FindLease(id);
        lock (gate)
        {
            if (lease is null)
            {
                deadlines.Remove(id);
                return null;
            }

            var now = time.GetTimestamp();
            if (!deadlines.TryGetValue(id, out var deadline))
            {
                deadline = Start(now, lease.CountdownStartSeconds, lease.GrantedTtlSeconds);
                if (leaderTerm != 0)
                {
                    deadlines[id] = deadline;
                }
            }

            // etcd truncates: int64(Remaining().Seconds()).
            var remaining = Math.Max(0, (deadline.At - now) / time.TimestampFrequency);
            return (remaining, lease.GrantedTtlSeconds);
        }
    }

    /// <summary>
    /// Up to <paramref name="max"/> leases whose deadline has passed and whose revoke is not already under way; each
    /// is marked so it is not handed out again before <see cref="RevokeRetryAfter"/>. Leases the store no longer has
    /// are forgotten here.
    /// </summary>
    public IReadOnlyList<long> TakeExpired(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        var due = new List<long>();
        lock (gate)
        {
            var now = time.GetTimestamp();
            foreach (var (id, deadline) in deadlines)
            {
                if (deadline.At <= now && deadline.RetryAt <= now)
                {
                    due.Add(id);
                    if (due.Count == max)
                    {
                        break;
                    }
                }
            }

            foreach (var id in due)
            {
                deadlines[id] = deadlines[id] with { RetryAt = now + (long)(RevokeRetryAfter.TotalSeconds * time.TimestampFrequency) };
            }
        }

        return due;
    }

    /// <summary>
    /// Before a keep-alive renews lease <paramref name="id"/>: whether its checkpointed remaining TTL must be cleared
    /// through the log first (etcd's <c>Renew</c> proposes a checkpoint of 0 when the lease has one), so a later leader
    /// does not restart the renewed lease from the remaining TTL it had before. True when the store holds a checkpoint
    /// or this leader proposed one for it that may still commit; the proposal mark is taken, so the caller must
    /// <see cref="MarkCheckpointProposed"/> again if its clear fails.
    /// </summary>
    public bool TakeCheckpointToClear(long id)
    {
        var lease = store.FindLease(id);
        lock (gate)
        {
            if (lease is null)
            {
                return false;
            }

            var proposed = deadlines.TryGetValue(id, out var deadline) && deadline.CheckpointProposed;
            if (proposed)
            {
                deadlines[id] = deadline with { CheckpointProposed = false };
            }

            return proposed || lease.RemainingTtlSeconds > 0;
        }
    }

    /// <summary>Marks lease <paramref name="id"/> as having a checkpoint proposed that may still commit (its clear failed).</summary>
    public void MarkCheckpointProposed(long id)
    {
        lock (gate)
        {
            if (deadlines.TryGetValue(id, out var deadline))
            {
                deadlines[id] = deadline with { CheckpointProposed = true };
            }
        }
    }

    /// <summary>
    /// Up to <paramref name="max"/> checkpoints due now (etcd's <c>findDueScheduledCheckpoints</c>): each lease whose
    /// checkpoint time has come and that has not expired gets its remaining TTL, rounded up to whole seconds; one
    /// still at its full TTL is skipped (nothing to record). Either way it is due again one interval later. Nothing
    /// when checkpoints are off.
    /// </summary>
    public IReadOnlyList<LeaseCheckpoint> TakeDueCheckpoints(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        var due = new List<LeaseCheckpoint>();
        if (checkpointIntervalTicks is null)
        {
            return due;
        }

        lock (gate)
        {
            var now = time.GetTimestamp();
            var seen = new List<(long Id, bool Checkpointed)>();
            foreach (var (id, deadline) in deadlines)
            {
                if (deadline.CheckpointAt > now)
                {
                    continue;
                }

                var remaining = deadline.At <= now ? 0 : (deadline.At - now + time.TimestampFrequency - 1) / time.TimestampFrequency;
                var record = remaining > 0 && remaining < deadline.TtlSeconds;
                seen.Add((id, record));
                if (record)
                {
                    due.Add(new LeaseCheckpoint { ID = id, RemainingTTL = remaining });
                    if (due.Count == max)
                    {
                        break;
                    }
                }
            }

            foreach (var (id, record) in seen)
            {
                var deadline = deadlines[id];
                deadlines[id] = deadline with { CheckpointAt = CheckpointAfter(now), CheckpointProposed = deadline.CheckpointProposed || record };
            }
        }

        return due;
    }

    /// <summary>Drops the deadline of a lease that is gone (its revoke answered "not found").</summary>
    public void Forget(long id)
    {
        lock (gate)
        {
            deadlines.Remove(id);
        }
    }

    /// <summary>How many deadlines the leader keeps (0 on a follower).</summary>
    public int TrackedCount
    {
        get
        {
            lock (gate)
            {
                return deadlines.Count;
            }
        }
    }

    private long Ticks(long seconds) => seconds >= long.MaxValue / 4 / time.TimestampFrequency ? long.MaxValue / 4 : seconds * time.TimestampFrequency;

    // A countdown of countdownSeconds from now, for a lease granted with ttlSeconds; its first checkpoint one interval on.
    private Deadline Start(long now, long countdownSeconds, long ttlSeconds) =>
        new(now + Ticks(countdownSeconds), 0, CheckpointAfter(now), ttlSeconds, CheckpointProposed: false);

    private long CheckpointAfter(long now) => checkpointIntervalTicks is { } interval ? now + interval : long.MaxValue;

    // Invariant: CheckpointProposed is true while a checkpoint of this lease proposed by this leader may still commit
    // and no keep-alive has cleared it since.
    private readonly record struct Deadline(long At, long RetryAt, long CheckpointAt, long TtlSeconds, bool CheckpointProposed);
}
