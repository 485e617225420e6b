using Google.Protobuf;

namespace RaftKv.Kv.Leases;

/// <summary>One granted lease as the replicated table holds it.</summary>
/// <param name="Id">The lease id (never 0).</param>
/// <param name="TtlSeconds">The TTL it was granted with, after the proposer's minimum.</param>
/// <param name="RemainingTtlSeconds">
/// The remaining TTL the leader last checkpointed through the log (etcd's <c>remainingTTL</c>), in 1 ..
/// <paramref name="TtlSeconds"/> − 1; 0 when none (never checkpointed, or cleared by a keep-alive): a new leader
/// starts the countdown from it, or from the full TTL when it is 0. Never read from a clock: only a
/// LeaseCheckpoint entry sets it.
/// </param>
internal readonly record struct LeaseEntry(long Id, long TtlSeconds, long RemainingTtlSeconds);

/// <summary>
/// The replicated lease table as one consistent state shows it: each granted lease's id, TTL (seconds, as granted)
/// and checkpointed remaining TTL, and the keys attached to it (the keys whose newest version names it). No
/// deadlines: time is the leader's business, outside the store, so the table is the same on every member.
/// </summary>
/// <remarks>Not thread-safe, like the <see cref="Mvcc.IMvccView"/> it belongs to.</remarks>
internal interface ILeaseView
{
    /// <summary>How many leases are granted.</summary>
    long Count { get; }

    /// <summary>Lease <paramref name="id"/>; false when no such lease exists.</summary>
    bool TryGet(long id, out LeaseEntry lease);

    /// <summary>The granted TTL of lease <paramref name="id"/>; false when no such lease exists.</summary>
    bool TryGetTtl(long id, out long ttlSeconds)
    {
        var found = TryGet(id, out var lease);
        ttlSeconds = lease.TtlSeconds;
        return found;
    }

    /// <summary>Every lease in id order (signed). Lazy: stop enumerating to stop reading.</summary>
    IEnumerable<LeaseEntry> All();

    /// <summary>The keys attached to lease <paramref name="id"/>, in key order; empty for an unknown lease. Lazy.</summary>
    IEnumerable<ByteString> Keys(long id);
}

/// <summary>The lease table of the entry being applied: reads see the entry's own writes.</summary>
internal interface ILeaseState : ILeaseView
{
    /// <summary>Adds a lease (no remaining TTL checkpointed); the caller has checked that it does not exist and that the table has room.</summary>
    void Grant(long id, long ttlSeconds);

    /// <summary>
    /// Records the checkpointed remaining TTL of an existing lease: 0 (none) or 1 .. TTL − 1; the caller has
    /// checked the lease exists and brought the value into that range.
    /// </summary>
    void Checkpoint(long id, long remainingTtlSeconds);

    /// <summary>Removes a lease whose keys were deleted (so detached) already.</summary>
    void Remove(long id);

    /// <summary>Attaches <paramref name="key"/> to an existing lease.</summary>
    void Attach(long id, ByteString key);

    /// <summary>Detaches <paramref name="key"/>; nothing happens when it was not attached (or the lease is gone).</summary>
    void Detach(long id, ByteString key);
}
