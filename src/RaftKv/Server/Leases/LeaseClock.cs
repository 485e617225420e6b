using RaftKv.Etcd.Api;
using RaftKv.Kv;
using RaftKv.Raft;

namespace RaftKv.Server.Leases;

/// <summary>
/// The lease clock, which only the leader keeps (etcd's primary lessor): a deadline per lease in memory, never in
/// the log or the store. A member that becomes leader starts every lease's countdown afresh at its full TTL (etcd's
/// <c>Promote</c>), so a leader change never expires leases early, only late, by at most the time the change took;
/// a member that stops leading forgets every deadline, and a follower expires nothing.
/// </summary>
/// <remarks>
/// Threads: the expiry loop, keep-alive handlers and the Raft apply thread (<see cref="OnApplied"/>) share it
/// under one lock; every method is O(1) but <see cref="TakeExpired"/> and the promotion, which are O(leases).
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

    // Invariant: deadlines is empty unless leaderTerm is the term this member leads in.
    private ulong leaderTerm;
    private long granted, revoked, expired;

    public LeaseClock(Func<RaftStatus?> status, KvStore store, TimeProvider time)
    {
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

    /// <summary>Counts one expiry revoke that committed.</summary>
    public void CountExpired() => Interlocked.Increment(ref expired);

    /// <summary>
    /// Whether this member leads now; on the first call of a new term of leadership, every lease in the store gets a
    /// full TTL from now; on the first call after leadership ended, every deadline is dropped.
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
                    deadlines[lease.Id] = new Deadline(start + Ticks(lease.GrantedTtlSeconds), 0);
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
                        deadlines[grant.ID] = new Deadline(time.GetTimestamp() + Ticks(grant.TTL), 0);
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
                deadlines[id] = new Deadline(time.GetTimestamp() + Ticks(lease.GrantedTtlSeconds), 0);
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
                deadline = new Deadline(now + Ticks(lease.GrantedTtlSeconds), 0);
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

    private long Ticks(long seconds) => seconds >= long.MaxValue / time.TimestampFrequency ? long.MaxValue / 2 : seconds * time.TimestampFrequency;

    private readonly record struct Deadline(long At, long RetryAt);
}
