using Google.Protobuf;
using RaftKv.Kv.Engine;

namespace RaftKv.Kv.Leases;

/// <summary>
/// The in-memory engine's lease table: lease id to TTL, checkpointed remaining TTL and the set of attached keys, kept in id and key order so
/// listings come out the same on every member. Changed in place by the applier, read under the engine's lock.
/// </summary>
internal sealed class LeaseTable : ILeaseState
{
    private readonly SortedDictionary<long, Lease> leases = new();

    public long Count => leases.Count;

    public bool TryGet(long id, out LeaseEntry lease)
    {
        var found = leases.TryGetValue(id, out var held);
        lease = found ? new LeaseEntry(id, held!.TtlSeconds, held.RemainingTtlSeconds) : default;
        return found;
    }

    public IEnumerable<LeaseEntry> All()
    {
        foreach (var (id, lease) in leases)
        {
            yield return new LeaseEntry(id, lease.TtlSeconds, lease.RemainingTtlSeconds);
        }
    }

    public IEnumerable<ByteString> Keys(long id) => leases.TryGetValue(id, out var lease) ? lease.Keys : [];

    /// <summary>How many keys are attached to lease <paramref name="id"/>.</summary>
    public int KeyCount(long id) => leases.TryGetValue(id, out var lease) ? lease.Keys.Count : 0;

    public void Grant(long id, long ttlSeconds)
    {
        if (id == 0 || ttlSeconds < LeaseLimits.FloorTtlSeconds || ttlSeconds > LeaseLimits.MaxTtlSeconds || !leases.TryAdd(id, new Lease(ttlSeconds)))
        {
            throw new InvalidOperationException($"lease {id} with TTL {ttlSeconds} s cannot be granted here: the applier checks first");
        }
    }

    public void Checkpoint(long id, long remainingTtlSeconds)
    {
        if (!leases.TryGetValue(id, out var lease) || remainingTtlSeconds < 0 || remainingTtlSeconds >= lease.TtlSeconds)
        {
            throw new InvalidOperationException($"lease {id} cannot be checkpointed at {remainingTtlSeconds} s here: the applier checks first");
        }

        lease.RemainingTtlSeconds = remainingTtlSeconds;
    }

    /// <summary>Restores a lease read from a snapshot, with its checkpointed remaining TTL.</summary>
    public void Restore(long id, long ttlSeconds, long remainingTtlSeconds)
    {
        Grant(id, ttlSeconds);
        if (remainingTtlSeconds != 0)
        {
            Checkpoint(id, remainingTtlSeconds);
        }
    }

    public void Remove(long id)
    {
        if (!leases.Remove(id, out var lease) || lease.Keys.Count != 0)
        {
            throw new InvalidOperationException($"lease {id} was removed while missing or with keys still attached");
        }
    }

    public void Attach(long id, ByteString key)
    {
        if (!leases.TryGetValue(id, out var lease))
        {
            throw new InvalidOperationException($"a key was attached to lease {id}, which does not exist");
        }

        lease.Keys.Add(key);
    }

    public void Detach(long id, ByteString key)
    {
        if (leases.TryGetValue(id, out var lease))
        {
            lease.Keys.Remove(key);
        }
    }

    private sealed class Lease(long ttlSeconds)
    {
        public long TtlSeconds { get; } = ttlSeconds;

        // Invariant: 0 (none) or 1 .. TtlSeconds - 1.
        public long RemainingTtlSeconds { get; set; }

        public SortedSet<ByteString> Keys { get; } = new(ByteStringComparer.Instance);
    }
}
