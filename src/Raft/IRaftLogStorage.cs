namespace RaftKv.Raft;

/// <summary>
/// The write side of a node's storage, used by the host: it writes each <see cref="Ready"/> into it and records
/// snapshots. The core itself only reads, through <see cref="IRaftStorage"/>.
/// </summary>
/// <remarks>
/// <para>Called only from the host's loop thread, except <see cref="StageSnapshot"/>, which may run on any thread.</para>
/// <para>Durability: after <see cref="Save"/> returns, the entries, snapshot and term/vote passed are durable (an
/// implementation syncs whenever any of them is present, whatever <c>mustSync</c> says) and readable through
/// <see cref="IRaftStorage"/>. A commit-index-only change may be readable before it is durable: losing it in a crash
/// is harmless, the leader tells the node again.</para>
/// </remarks>
public interface IRaftLogStorage : IRaftStorage
{
    /// <summary>
    /// Persists a Ready's <paramref name="snapshot"/> (the log restarts after it), <paramref name="entries"/>
    /// (replacing any conflicting suffix from the first one's index) and <paramref name="hardState"/>, in that
    /// order, with one sync when <paramref name="mustSync"/> is true (see <see cref="Ready.MustSync"/>).
    /// </summary>
    void Save(HardState? hardState, IReadOnlyList<Entry> entries, Snapshot? snapshot, bool mustSync);

    /// <summary>
    /// Records a snapshot the state machine took at <paramref name="index"/> (applied, hence committed) and releases
    /// the log up to it. Returns the snapshot with the term of the entry at <paramref name="index"/>.
    /// </summary>
    Snapshot CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data);

    /// <summary>
    /// First half of <see cref="CreateSnapshot"/> for hosts that serialize the state machine off the loop: stores
    /// <paramref name="data"/> (the state as of <paramref name="metadata"/>'s index, which is applied, with the term of
    /// that entry) durably where neither reads nor a restart use it yet. Thread-safe: may run on any thread while the
    /// loop keeps calling <see cref="Save"/>; at most one staging at a time. Does not change the log.
    /// </summary>
    StagedSnapshot StageSnapshot(SnapshotMetadata metadata, ReadOnlyMemory<byte> data);

    /// <summary>
    /// Second half, on the loop thread: makes <paramref name="staged"/> the node's snapshot and releases the log up to
    /// it, as <see cref="CreateSnapshot"/> does. Returns null, and discards the staged data, when the storage already
    /// holds a snapshot at or beyond its index (for example one received from the leader while it was being staged).
    /// </summary>
    Snapshot? PublishSnapshot(StagedSnapshot staged);

    /// <summary>Discards a staged snapshot that will not be published (the host is stopping). Any thread; idempotent.</summary>
    void DiscardSnapshot(StagedSnapshot staged);
}
