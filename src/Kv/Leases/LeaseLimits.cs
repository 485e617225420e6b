namespace RaftKv.Kv.Leases;

/// <summary>
/// The bounds every member applies to leases. They are constants, never settings, because apply checks them: a
/// member with a different limit would refuse a different entry and its state would part from the others'.
/// </summary>
public static class LeaseLimits
{
    /// <summary>etcd's <c>MaxLeaseTTL</c>: a longer TTL is refused with "etcdserver: too large lease TTL".</summary>
    public const long MaxTtlSeconds = 9_000_000_000;

    /// <summary>
    /// The shortest TTL apply stores. The proposer raises a shorter TTL to the cluster's minimum first (etcd's
    /// <c>minLeaseTTL</c>, see <c>LeaseTtl.MinimumSeconds</c> in the server); this floor only keeps an entry that
    /// skipped it (TTL ≤ 0 in the log) from making a lease that expires at once.
    /// </summary>
    public const long FloorTtlSeconds = 1;

    /// <summary>
    /// Leases the cluster holds at most; a grant beyond is refused with <see cref="KvError.TooManyLeases"/>. etcd keeps
    /// no limit; a million leases are about 100 MB on the leader, where every lease has a deadline in memory.
    /// </summary>
    public const int MaxLeases = 1_000_000;

    /// <summary>
    /// Checkpoints one LeaseCheckpoint command carries at most (etcd's <c>maxLeaseCheckpointBatchSize</c>); a command
    /// with more is refused whole (<see cref="KvError.TooManyCheckpoints"/>), so one entry's work stays bounded and the
    /// same on both engines.
    /// </summary>
    public const int MaxCheckpointsPerCommand = 1000;
}
