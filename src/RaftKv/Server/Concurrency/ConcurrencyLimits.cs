namespace RaftKv.Server.Concurrency;

/// <summary>
/// Bounds on the Lock and Election services, per member. etcd has none of its own (each waiter is a goroutine and a
/// watch); a client must not be able to exhaust a member with waiters or observers.
/// </summary>
public sealed record ConcurrencyLimits
{
    /// <summary>The defaults.</summary>
    public static ConcurrencyLimits Default { get; } = new();

    /// <summary>
    /// The TTL of the lease granted for a Lock or Campaign that names none (lease 0): clientv3's session default,
    /// which etcd's server-side services use, never kept alive.
    /// </summary>
    public const long SessionTtlSeconds = 60;

    /// <summary>Lock and Campaign calls on one member at most, waiting or not; one more is refused with RESOURCE_EXHAUSTED.</summary>
    public int WaitersMax { get; init; } = 10_000;

    /// <summary>Observe streams on one member at most; one more is refused with RESOURCE_EXHAUSTED.</summary>
    public int ObserversMax { get; init; } = 1_000;

    /// <summary>Events read from the member's watch hub per read while waiting.</summary>
    public int EventsPerReadMax { get; init; } = 1_000;
}
