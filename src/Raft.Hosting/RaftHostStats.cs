namespace RaftKv.Raft.Hosting;

/// <summary>
/// Running totals of what a <see cref="RaftHost"/>'s loop did, for metrics and profiling: how many log writes and
/// syncs, how many entries each carried, what was sent to peers, how long persisting and snapshots held the loop.
/// Written by the loop thread only; read from any thread (each value on its own is exact, a set of them is not
/// one consistent cut).
/// </summary>
public sealed class RaftHostStats
{
    private long _persists;
    private long _syncs;
    private long _entriesPersisted;
    private long _entryBytesPersisted;
    private long _persistTimeTicks;
    private long _appendMessagesSent;
    private long _appendEntriesSent;
    private long _appendEntryBytesSent;
    private long _messagesSent;
    private long _entriesApplied;
    private long _snapshotsPublished;
    private long _snapshotLoopTimeTicks;
    private long _snapshotLoopMaxTicks;
    private long _snapshotLoopCpuMaxTicks = -1;

    /// <summary>Readies written to storage (each one write call, at most one sync).</summary>
    public long Persists => Volatile.Read(ref _persists);

    /// <summary>Writes that had to reach the disk before returning (entries, a snapshot, a term or vote): one fsync each.</summary>
    public long Syncs => Volatile.Read(ref _syncs);

    /// <summary>Log entries written to storage.</summary>
    public long EntriesPersisted => Volatile.Read(ref _entriesPersisted);

    /// <summary>Payload bytes of the log entries written to storage.</summary>
    public long EntryBytesPersisted => Volatile.Read(ref _entryBytesPersisted);

    /// <summary>Time spent in storage writes (including their fsyncs), in total.</summary>
    public TimeSpan PersistTime => TimeSpan.FromTicks(Volatile.Read(ref _persistTimeTicks));

    /// <summary>AppendEntries messages sent that carried entries (heartbeats and empty probes are not counted).</summary>
    public long AppendMessagesSent => Volatile.Read(ref _appendMessagesSent);

    /// <summary>Entries carried by the AppendEntries messages sent.</summary>
    public long AppendEntriesSent => Volatile.Read(ref _appendEntriesSent);

    /// <summary>Payload bytes of the entries carried by the AppendEntries messages sent.</summary>
    public long AppendEntryBytesSent => Volatile.Read(ref _appendEntryBytesSent);

    /// <summary>Messages of every type handed to the transport.</summary>
    public long MessagesSent => Volatile.Read(ref _messagesSent);

    /// <summary>Committed entries applied to the state machine (no-ops included).</summary>
    public long EntriesApplied => Volatile.Read(ref _entriesApplied);

    /// <summary>Snapshots taken by this node and published (the log was compacted).</summary>
    public long SnapshotsPublished => Volatile.Read(ref _snapshotsPublished);

    /// <summary>Time the loop spent capturing and publishing its own snapshots, in total (writing them is off the loop).</summary>
    public TimeSpan SnapshotLoopTime => TimeSpan.FromTicks(Volatile.Read(ref _snapshotLoopTimeTicks));

    /// <summary>The longest the loop spent on one snapshot (capture plus publish): its stall, when heartbeats wait.</summary>
    public TimeSpan SnapshotLoopTimeMax => TimeSpan.FromTicks(Volatile.Read(ref _snapshotLoopMaxTicks));

    /// <summary>
    /// The most CPU time the loop thread used on one snapshot (capture plus publish): the snapshot's own work, without
    /// the time the scheduler gave other threads meanwhile, which <see cref="SnapshotLoopTimeMax"/> includes. Null
    /// before the first snapshot, and where the thread's CPU time cannot be read (Linux only).
    /// </summary>
    public TimeSpan? SnapshotLoopCpuTimeMax => Volatile.Read(ref _snapshotLoopCpuMaxTicks) is var t and >= 0 ? TimeSpan.FromTicks(t) : null;

    internal void RecordPersist(IReadOnlyList<Entry> entries, bool synced, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _persists);
        if (synced) Interlocked.Increment(ref _syncs);
        Interlocked.Add(ref _entriesPersisted, entries.Count);
        Interlocked.Add(ref _entryBytesPersisted, PayloadBytes(entries));
        Interlocked.Add(ref _persistTimeTicks, elapsed.Ticks);
    }

    internal void RecordSent(IReadOnlyList<Message> messages)
    {
        Interlocked.Add(ref _messagesSent, messages.Count);
        foreach (var m in messages)
        {
            if (m.Type != MessageType.Append || m.Entries.Count == 0) continue;
            Interlocked.Increment(ref _appendMessagesSent);
            Interlocked.Add(ref _appendEntriesSent, m.Entries.Count);
            Interlocked.Add(ref _appendEntryBytesSent, PayloadBytes(m.Entries));
        }
    }

    private static long PayloadBytes(IReadOnlyList<Entry> entries)
    {
        long bytes = 0;
        foreach (var e in entries) bytes += e.Data.Length;
        return bytes;
    }

    internal void RecordApplied(int entries) => Interlocked.Add(ref _entriesApplied, entries);

    internal void RecordSnapshot(TimeSpan loopTime, TimeSpan? loopCpuTime)
    {
        if (loopCpuTime is { Ticks: var cpu } && cpu > Volatile.Read(ref _snapshotLoopCpuMaxTicks)) Volatile.Write(ref _snapshotLoopCpuMaxTicks, cpu); // one writer: the loop
        Interlocked.Increment(ref _snapshotsPublished);
        Interlocked.Add(ref _snapshotLoopTimeTicks, loopTime.Ticks);
        if (loopTime.Ticks > Volatile.Read(ref _snapshotLoopMaxTicks)) Volatile.Write(ref _snapshotLoopMaxTicks, loopTime.Ticks); // one writer: the loop
    }
}
