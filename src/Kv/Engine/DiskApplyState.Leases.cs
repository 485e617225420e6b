using Google.Protobuf;
using RaftKv.Kv.Leases;

namespace RaftKv.Kv.Engine;

/// <summary>
/// The lease table while an entry applies: the committed table (<see cref="DiskLeaseView"/>) with this entry's
/// grants, checkpoints, removals and (de)attachments laid over it; each change goes into the entry's batch, so leases, keys and
/// the applied index commit together or not at all.
/// </summary>
internal sealed partial class DiskApplyState : ILeaseState
{
    // Null value: removed by this entry.
    private readonly Dictionary<long, LeaseEntry?> leaseChanges = [];

    // Per lease, keys attached (true) or detached (false) by this entry.
    private readonly Dictionary<long, SortedDictionary<ByteString, bool>> attachmentChanges = [];
    private long leaseCountDelta;

    public Leases.ILeaseView Leases => this;

    public ILeaseState LeaseWrites => this;

    long ILeaseView.Count => committed.Leases.Count + leaseCountDelta;

    bool ILeaseView.TryGet(long id, out LeaseEntry lease)
    {
        if (leaseChanges.TryGetValue(id, out var changed))
        {
            lease = changed ?? default;
            return changed is not null;
        }

        return committed.Leases.TryGet(id, out lease);
    }

    IEnumerable<LeaseEntry> ILeaseView.All()
    {
        var merged = new SortedDictionary<long, LeaseEntry>();
        foreach (var lease in committed.Leases.All())
        {
            merged[lease.Id] = lease;
        }

        foreach (var (id, lease) in leaseChanges)
        {
            if (lease is { } held)
            {
                merged[id] = held;
            }
            else
            {
                merged.Remove(id);
            }
        }

        foreach (var lease in merged.Values)
        {
            yield return lease;
        }
    }

    IEnumerable<ByteString> ILeaseView.Keys(long id)
    {
        if (leaseChanges.TryGetValue(id, out var changed) && changed is null)
        {
            return [];
        }

        if (!attachmentChanges.TryGetValue(id, out var changes))
        {
            return committed.Leases.Keys(id);
        }

        var merged = new SortedSet<ByteString>(committed.Leases.Keys(id), ByteStringComparer.Instance);
        foreach (var (key, attached) in changes)
        {
            if (attached)
            {
                merged.Add(key);
            }
            else
            {
                merged.Remove(key);
            }
        }

        return merged;
    }

    void ILeaseState.Grant(long id, long ttlSeconds)
    {
        if (id == 0 || ttlSeconds < LeaseLimits.FloorTtlSeconds || ttlSeconds > LeaseLimits.MaxTtlSeconds || Leases.TryGetTtl(id, out _))
        {
            throw new InvalidOperationException($"lease {id} with TTL {ttlSeconds} s cannot be granted here: the applier checks first");
        }

        Reserve(1);
        batch.Put(DiskLeaseKeys.Record(id), DiskLeaseKeys.EncodeRecord(ttlSeconds, 0));
        leaseChanges[id] = new LeaseEntry(id, ttlSeconds, 0);
        leaseCountDelta++;
    }

    void ILeaseState.Checkpoint(long id, long remainingTtlSeconds)
    {
        if (!Leases.TryGet(id, out var lease) || remainingTtlSeconds < 0 || remainingTtlSeconds >= lease.TtlSeconds)
        {
            throw new InvalidOperationException($"lease {id} cannot be checkpointed at {remainingTtlSeconds} s here: the applier checks first");
        }

        // A later checkpoint of the same lease in this entry puts the same key again: the batch keeps the last.
        Reserve(1);
        batch.Put(DiskLeaseKeys.Record(id), DiskLeaseKeys.EncodeRecord(lease.TtlSeconds, remainingTtlSeconds));
        leaseChanges[id] = lease with { RemainingTtlSeconds = remainingTtlSeconds };
    }

    void ILeaseState.Remove(long id)
    {
        if (!Leases.TryGetTtl(id, out _) || Leases.Keys(id).Any())
        {
            throw new InvalidOperationException($"lease {id} was removed while missing or with keys still attached");
        }

        Reserve(1);
        batch.Delete(DiskLeaseKeys.Record(id));
        leaseChanges[id] = null;
        leaseCountDelta--;
    }

    void ILeaseState.Attach(long id, ByteString key)
    {
        if (!Leases.TryGetTtl(id, out _))
        {
            throw new InvalidOperationException($"a key was attached to lease {id}, which does not exist");
        }

        Reserve(1);
        batch.Put(DiskLeaseKeys.Attachment(id, key.Span), []);
        ChangesOf(id)[key] = true;
    }

    void ILeaseState.Detach(long id, ByteString key)
    {
        Reserve(1);
        batch.Delete(DiskLeaseKeys.Attachment(id, key.Span)); // a missing attachment makes this a no-op, as in memory
        ChangesOf(id)[key] = false;
    }

    private SortedDictionary<ByteString, bool> ChangesOf(long id)
    {
        if (!attachmentChanges.TryGetValue(id, out var changes))
        {
            changes = new SortedDictionary<ByteString, bool>(ByteStringComparer.Instance);
            attachmentChanges[id] = changes;
        }

        return changes;
    }

    private void DiscardLeaseWrites()
    {
        leaseChanges.Clear();
        attachmentChanges.Clear();
        leaseCountDelta = 0;
    }

    // Only when the count changed: most entries touch no lease and write nothing more.
    private void WriteLeaseCount()
    {
        if (leaseCountDelta != 0)
        {
            batch.Put(DiskLeaseKeys.CountKey, DiskLeaseKeys.EncodeCount(committed.Leases.Count + leaseCountDelta));
        }
    }
}
