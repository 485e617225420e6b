using Google.Protobuf;

namespace RaftKv.Kv.Leases;

/// <summary>
/// The replicated lease table as one consistent state shows it: each granted lease's id and TTL (seconds, as
/// granted), and the keys attached to it (the keys whose newest version names it). No deadlines: time is the
/// leader's business, outside the store, so the table is the same on every member.
/// </summary>
/// <remarks>Not thread-safe, like the <see cref="Mvcc.IMvccView"/> it belongs to.</remarks>
internal interface ILeaseView
{
    /// <summary>How many leases are granted.</summary>
    long Count { get; }

    /// <summary>The granted TTL of lease <paramref name="id"/>; false when no such lease exists.</summary>
    bool TryGetTtl(long id, out long ttlSeconds);

    /// <summary>Every lease in id order (signed). Lazy: stop enumerating to stop reading.</summary>
    IEnumerable<(long Id, long TtlSeconds)> All();

    /// <summary>The keys attached to lease <paramref name="id"/>, in key order; empty for an unknown lease. Lazy.</summary>
    IEnumerable<ByteString> Keys(long id);
}

/// <summary>The lease table of the entry being applied: reads see the entry's own writes.</summary>
internal interface ILeaseState : ILeaseView
{
    /// <summary>Adds a lease; the caller has checked that it does not exist and that the table has room.</summary>
    void Grant(long id, long ttlSeconds);

    /// <summary>Removes a lease whose keys were deleted (so detached) already.</summary>
    void Remove(long id);

    /// <summary>Attaches <paramref name="key"/> to an existing lease.</summary>
    void Attach(long id, ByteString key);

    /// <summary>Detaches <paramref name="key"/>; nothing happens when it was not attached (or the lease is gone).</summary>
    void Detach(long id, ByteString key);
}
