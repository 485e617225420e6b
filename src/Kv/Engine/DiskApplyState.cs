using Google.Protobuf;
using RaftKv.Kv.Alarms;
using RaftKv.Kv.Backend;
using RaftKv.Kv.Backend.Mvcc;
using RaftKv.Kv.Mvcc;

namespace RaftKv.Kv.Engine;

/// <summary>
/// The disk engine's <see cref="IMvccState"/> for one applied entry: reads see the last committed state (a backend
/// view) plus this entry's own writes (an in-memory overlay, newest version per key), and every write goes into one
/// backend batch that <see cref="Commit"/> writes atomically with the applied index, the scalar record and (when the
/// entry sets it) the cluster record, so the data and the index that says how far it got can never disagree after a
/// crash.
/// </summary>
internal sealed partial class DiskApplyState : IMvccState
{
    /// <summary>
    /// Operations one entry may write (three per version: the version, its change and the newest-version pointer;
    /// one per dropped version, change or pointer), below the backend's batch limit with room for the scalar, lease count and cluster records: about 200 MB of batch at most.
    /// </summary>
    public const int OperationsMax = BackendBatch.OperationsMax - 16;

    private readonly KvBackend backend;
    private readonly BackendBatch batch;
    private readonly DiskView committed;
    private readonly SortedList<ByteString, RevisionEntry> overlay = new(ByteStringComparer.Instance);
    private DiskMeta meta;
    private byte[]? newClusterRecord; // null: this entry leaves the committed record as it is
    private byte[]? newAuthRecord; // likewise
    private ulong appliedIndex;
    private bool applied;

    private readonly int operationsMax;

    private readonly int changesPerStep;

    public DiskApplyState(KvBackend backend, BackendBatch batch, DiskView committed, AlarmSet alarms, int operationsMax = OperationsMax, int changesPerStep = ChangesPerStep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(changesPerStep, 1);
        this.operationsMax = operationsMax;
        this.changesPerStep = changesPerStep;
        this.backend = backend;
        this.batch = batch;
        this.committed = committed;
        meta = committed.Meta;
        appliedIndex = committed.AppliedIndex;
        Alarms = alarms;
    }

    public long CurrentRevision => meta.CurrentRevision;

    public long CompactRevision => meta.CompactRevision;

    public ulong AppliedIndex => appliedIndex;

    public long SizeBytes => meta.SizeBytes;

    public long EntryCount => meta.EntryCount;

    public AlarmSet Alarms { get; }

    public ReadOnlyMemory<byte> ClusterRecord => newClusterRecord ?? committed.ClusterRecord;

    public ReadOnlyMemory<byte> AuthRecord => newAuthRecord ?? committed.AuthRecord;

    /// <summary>The scalars as this entry leaves them.</summary>
    public DiskMeta Meta => meta;

    public void SetApplied(ulong raftIndex)
    {
        if (raftIndex <= appliedIndex)
        {
            throw new ArgumentOutOfRangeException(
                nameof(raftIndex), raftIndex, $"entries apply in increasing index order; {appliedIndex} was applied already");
        }

        appliedIndex = raftIndex;
        applied = true;
    }

    public void SetClusterRecord(byte[] record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ClusterRecordLength.ThrowIfTooLong(record.Length, nameof(record));
        newClusterRecord = record; // one put or delete at Commit, within the room OperationsMax leaves below the batch limit
    }

    public void SetAuthRecord(byte[] record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ClusterRecordLength.ThrowIfTooLong(record.Length, nameof(record));
        newAuthRecord = record; // as the cluster record: one put or delete at Commit
    }

    public bool TryGetVersion(ReadOnlySpan<byte> key, long revision, out RevisionEntry entry)
    {
        if (revision > committed.CurrentRevision && overlay.Count > 0 && overlay.TryGetValue(UnsafeByteOperations.UnsafeWrap(key.ToArray()), out entry))
        {
            return true;
        }

        return committed.TryGetVersion(key, Math.Min(revision, committed.CurrentRevision), out entry);
    }

    public IEnumerable<KeyVersion> Live(KeyRange range, long revision)
    {
        var below = committed.Live(range, Math.Min(revision, committed.CurrentRevision));
        return revision > committed.CurrentRevision && overlay.Count > 0 ? Merge(below, range) : below;
    }

    public long CountLive(KeyRange range, long revision)
    {
        long count = 0;
        foreach (var _ in Live(range, revision))
        {
            count++;
        }

        return count;
    }

    public IEnumerable<Change> Changes(long fromRevision) =>
        throw new InvalidOperationException("the history is read through a view, not while applying");

    public IEnumerable<KeyVersion> AllVersions(long maxRevision) =>
        throw new InvalidOperationException("versions are hashed through a view, not while applying");

    public void Append(ByteString key, in RevisionEntry entry)
    {
        if (entry.Main != meta.CurrentRevision + 1)
        {
            throw new InvalidOperationException($"writes go to revision {meta.CurrentRevision + 1}, not {entry.Main}");
        }

        Reserve(MvccWriter.OperationsPerVersion);
        MvccWriter.Write(batch, key.Span, ToStored(entry));
        overlay[key] = entry;
        meta = meta with
        {
            SizeBytes = meta.SizeBytes + MvccState.EntryCost(key.Length, entry.Value?.Length ?? 0),
            EntryCount = meta.EntryCount + 1,
        };
    }

    public void DiscardWrites()
    {
        batch.Clear();
        overlay.Clear();
        DiscardLeaseWrites();
        newClusterRecord = null;
        newAuthRecord = null;
        meta = committed.Meta;
    }

    /// <summary>Throws <see cref="EntryTooLargeException"/> before <paramref name="operations"/> more would pass <see cref="OperationsMax"/>.</summary>
    private void Reserve(int operations)
    {
        if (batch.Count + operations > operationsMax)
        {
            throw new EntryTooLargeException(operationsMax);
        }
    }

    public void CommitRevision(long revision)
    {
        if (revision != meta.CurrentRevision + 1)
        {
            throw new InvalidOperationException($"revision {revision} does not follow {meta.CurrentRevision}");
        }

        meta = meta with { CurrentRevision = revision };
    }

    /// <summary>Whether an entry was applied (<see cref="SetApplied"/> was called); otherwise there is nothing to commit.</summary>
    public bool Applied => applied;

    /// <summary>Writes the batch, the scalar record and the applied index in one atomic backend write.</summary>
    public void Commit()
    {
        if (!applied)
        {
            throw new InvalidOperationException("an entry was applied without its index");
        }

        if (meta.CurrentRevision != committed.CurrentRevision && meta.CurrentRevision != committed.CurrentRevision + 1)
        {
            throw new InvalidOperationException($"one entry moved the revision from {committed.CurrentRevision} to {meta.CurrentRevision}");
        }

        if (overlay.Count > 0 && meta.CurrentRevision == committed.CurrentRevision)
        {
            throw new InvalidOperationException("versions were written but their revision was not committed");
        }

        batch.Put(DiskMeta.Key, meta.Encode(Alarms));
        if (newClusterRecord is not null)
        {
            DiskClusterRecord.Write(batch, newClusterRecord);
        }

        if (newAuthRecord is not null)
        {
            DiskClusterRecord.Write(batch, newAuthRecord, DiskClusterRecord.AuthKey);
        }

        WriteLeaseCount();
        backend.Commit(batch, appliedIndex);
    }

    private static StoredVersion ToStored(in RevisionEntry entry) => entry.IsTombstone
        ? StoredVersion.Tombstone(entry.Main, entry.Sub)
        : new StoredVersion(entry.Main, entry.Sub, false, entry.CreateRevision, entry.Version, entry.Lease, entry.Value!.Memory);

    // The committed live keys with this entry's writes laid over them, in key order.
    private IEnumerable<KeyVersion> Merge(IEnumerable<KeyVersion> below, KeyRange range)
    {
        var mine = new List<KeyValuePair<ByteString, RevisionEntry>>();
        foreach (var pair in overlay)
        {
            if (range.Contains(pair.Key.Span))
            {
                mine.Add(pair);
            }
        }

        var next = 0;
        foreach (var item in below)
        {
            for (; next < mine.Count && ByteStringComparer.Instance.Compare(mine[next].Key, item.Key) <= 0; next++)
            {
                if (!mine[next].Value.IsTombstone)
                {
                    yield return new KeyVersion(mine[next].Key, mine[next].Value);
                }
            }

            if (next > 0 && ByteStringComparer.Instance.Compare(mine[next - 1].Key, item.Key) == 0)
            {
                continue; // overwritten (or deleted) by this entry
            }

            yield return item;
        }

        for (; next < mine.Count; next++)
        {
            if (!mine[next].Value.IsTombstone)
            {
                yield return new KeyVersion(mine[next].Key, mine[next].Value);
            }
        }
    }
}

/// <summary>etcd's key order: bytewise.</summary>
internal sealed class ByteStringComparer : IComparer<ByteString>
{
    public static readonly ByteStringComparer Instance = new();

    public int Compare(ByteString? x, ByteString? y) => x!.Span.SequenceCompareTo(y!.Span);
}
