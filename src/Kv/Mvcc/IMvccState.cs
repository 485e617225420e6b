using Google.Protobuf;

namespace RaftKv.Kv.Mvcc;

/// <summary>
/// The state one command is applied to: a view that also takes writes. Writes of the transaction in progress go to
/// revision <see cref="IMvccView.CurrentRevision"/> + 1 and are visible at once to reads at that revision (a txn's
/// range after its put sees the put); <see cref="CommitRevision"/> makes it current. Only the applier thread uses it.
/// </summary>
internal interface IMvccState : IMvccView
{
    /// <summary>Records that the entry at <paramref name="raftIndex"/> is being applied; indexes only grow.</summary>
    /// <exception cref="ArgumentOutOfRangeException">When the index is not above the applied index.</exception>
    void SetApplied(ulong raftIndex);

    /// <summary>
    /// Replaces the cluster record as part of the entry being applied (no revision, no event). The caller hands over
    /// <paramref name="record"/>: an array nobody changes afterwards, at most <see cref="KvStore.ClusterRecordMaxBytes"/> long.
    /// </summary>
    /// <exception cref="ArgumentException">When the record is longer than the limit.</exception>
    void SetClusterRecord(byte[] record);

    /// <summary>Replaces the auth record as part of the entry being applied; as <see cref="SetClusterRecord"/>.</summary>
    /// <exception cref="ArgumentException">When the record is longer than the limit.</exception>
    void SetAuthRecord(byte[] record);

    /// <summary>Adds one version of <paramref name="key"/> at revision <see cref="IMvccView.CurrentRevision"/> + 1.</summary>
    void Append(ByteString key, in RevisionEntry entry);

    /// <summary>Makes the changes of the write transaction in progress the current revision.</summary>
    void CommitRevision(long revision);

    /// <summary>The lease table to change; changes belong to the entry being applied, like its versions.</summary>
    Leases.ILeaseState LeaseWrites { get; }

    /// <summary>
    /// Drops every version no read at or after <paramref name="revision"/> can see: per key, everything older than its
    /// newest version at or below the revision, and that version too when it is a tombstone.
    /// </summary>
    void Compact(long revision);

    /// <summary>
    /// Carries the committed compactions on by one bounded step, in this entry, when <see cref="IMvccView.CompactionPending"/>;
    /// nothing otherwise. Changes no revision and nothing a read can see.
    /// </summary>
    void ContinueCompaction();

    /// <summary>
    /// Drops every change this entry made so far (the applied index stays set): after an
    /// <see cref="EntryTooLargeException"/>, the entry is refused whole.
    /// </summary>
    void DiscardWrites();
}

/// <summary>
/// An entry would change more than one atomic write of the engine holds. Thrown before the change that would pass the
/// limit is made; the applier then discards the entry's writes and refuses it (<see cref="KvError.EntryTooLarge"/>).
/// Deterministic: the count depends only on the state and the command, so every member refuses the same entry.
/// </summary>
internal sealed class EntryTooLargeException(int operationsMax)
    : Exception($"the entry needs more than {operationsMax} operations in one atomic write")
{
}
