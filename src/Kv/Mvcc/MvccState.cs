using RaftKv.Kv.Alarms;
using RaftKv.Kv.Leases;

namespace RaftKv.Kv.Mvcc;

/// <summary>
/// The replicated state of the store: keys with their histories, the change log, revisions, alarms, the applied
/// Raft index and the size estimate the quota is checked against. Pure data plus the invariants of changing it;
/// what a request means lives in the executors.
/// </summary>
internal sealed partial class MvccState : IMvccState
{
    /// <summary>
    /// Bytes counted for every stored version on top of its key and value: roughly what one version costs in
    /// memory here (entry, log slot, value object), and so what the quota is measured in.
    /// </summary>
    public const long RevisionOverheadBytes = 128;

    public KeyIndex Keys { get; } = new();

    public RevisionLog Log { get; } = new();

    public AlarmSet Alarms { get; } = new();

    /// <summary>The granted leases with their attached keys (rebuilt from the keys on restore).</summary>
    public LeaseTable LeaseTable { get; } = new();

    ILeaseView IMvccView.Leases => LeaseTable;

    ILeaseState IMvccState.LeaseWrites => LeaseTable;

    /// <summary>Revision of the newest write transaction; 1 for an empty store, as in etcd.</summary>
    public long CurrentRevision { get; private set; } = 1;

    /// <summary>Revision of the last compaction; -1 when never compacted, as in etcd.</summary>
    public long CompactRevision { get; private set; } = -1;

    /// <summary>Never: this store compacts whole, at once.</summary>
    public bool CompactionPending => false;

    /// <summary>Index of the last Raft entry applied.</summary>
    public ulong AppliedIndex { get; private set; }

    /// <summary>Estimated size: key + value + <see cref="RevisionOverheadBytes"/> over every retained version.</summary>
    public long SizeBytes { get; private set; }

    /// <summary>Number of retained versions, tombstones included.</summary>
    public long EntryCount { get; private set; }

    /// <summary>The server's opaque cluster record; empty until one is set. Replaced whole, never changed in place.</summary>
    public ReadOnlyMemory<byte> ClusterRecord { get; private set; } = ReadOnlyMemory<byte>.Empty;

    /// <summary>The auth record; empty until auth is configured. Replaced whole, never changed in place.</summary>
    public ReadOnlyMemory<byte> AuthRecord { get; private set; } = ReadOnlyMemory<byte>.Empty;

    public static long EntryCost(int keyLength, int valueLength) => keyLength + valueLength + RevisionOverheadBytes;

    public void SetApplied(ulong raftIndex)
    {
        if (raftIndex <= AppliedIndex)
        {
            throw new ArgumentOutOfRangeException(
                nameof(raftIndex), raftIndex, $"entries apply in increasing index order; {AppliedIndex} was applied already");
        }

        AppliedIndex = raftIndex;
    }

    public void SetClusterRecord(byte[] record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ClusterRecordLength.ThrowIfTooLong(record.Length, nameof(record));
        ClusterRecord = record;
    }

    public void SetAuthRecord(byte[] record)
    {
        ArgumentNullException.ThrowIfNull(record);
        ClusterRecordLength.ThrowIfTooLong(record.Length, nameof(record));
        AuthRecord = record;
    }

    /// <summary>Adds one version of one key, at revision <see cref="CurrentRevision"/> + 1.</summary>
    public void Append(KeyHistory history, in RevisionEntry entry)
    {
        if (entry.Main != CurrentRevision + 1)
        {
            throw new InvalidOperationException($"writes go to revision {CurrentRevision + 1}, not {entry.Main}");
        }

        AppendTracked(history, entry);
        Log.Append(entry.Main, entry.Sub, history);
        SizeBytes += EntryCost(history.Key.Length, entry.Value?.Length ?? 0);
        EntryCount++;
    }

    /// <summary>Makes the changes of the write transaction in progress the current revision.</summary>
    public void CommitRevision(long revision)
    {
        if (revision != CurrentRevision + 1)
        {
            throw new InvalidOperationException($"revision {revision} does not follow {CurrentRevision}");
        }

        CurrentRevision = revision;
    }

    /// <summary>Nothing to carry on: <see cref="Compact"/> did it all.</summary>
    public void ContinueCompaction()
    {
    }

    /// <summary>
    /// Drops every version that no read at or after <paramref name="revision"/> can see: for each key, everything
    /// older than its newest version at or below the revision, and that version too when it is a tombstone.
    /// </summary>
    public void Compact(long revision)
    {
        if (revision <= CompactRevision || revision > CurrentRevision)
        {
            throw new ArgumentOutOfRangeException(
                nameof(revision), revision, $"compaction must lie in ({CompactRevision}, {CurrentRevision}]");
        }

        // Every key with a version at or below the revision that is not already alone is in the log: a version
        // kept by the previous compaction is only superseded by a newer write, which the log holds.
        var end = Log.FirstAtOrAfter(revision + 1);
        for (var i = 0; i < end; i++)
        {
            var history = Log[i].History;
            if (history.CompactedAt == revision)
            {
                continue;
            }

            history.CompactedAt = revision;
            CompactKey(history, revision);
        }

        // Changes at the compaction revision itself stay: a watcher may still start there.
        Log.DropBefore(revision);
        CompactRevision = revision;
    }

    // Appends and keeps the index's live counts in step when the key turns live or dead.
    private void AppendTracked(KeyHistory history, in RevisionEntry entry)
    {
        var wasLive = history.IsLive;
        history.Append(entry);
        if (history.IsLive != wasLive)
        {
            Keys.AdjustLive(history.Key.Span, wasLive ? -1 : 1);
        }
    }

    private void CompactKey(KeyHistory history, long revision)
    {
        var newest = history.FindAtOrBefore(revision);
        if (newest < 0)
        {
            return;
        }

        var removeCount = history[newest].IsTombstone ? newest + 1 : newest;
        for (var i = 0; i < removeCount; i++)
        {
            SizeBytes -= EntryCost(history.Key.Length, history[i].Value?.Length ?? 0);
        }

        EntryCount -= removeCount;
        history.RemoveOldest(removeCount);
        if (history.Count == 0 && !Keys.Remove(history.Key.Span))
        {
            throw new InvalidOperationException("a compacted key was missing from the index");
        }
    }

    /// <summary>Verifies the index and recomputes the size and version count from scratch; for tests (O(n)).</summary>
    internal void CheckInvariants()
    {
        Keys.CheckInvariants();
        long size = 0, entries = 0;
        var cursor = Keys.First();
        while (cursor.Next(out var history))
        {
            if (history.Count == 0 || history.Last.Main > CurrentRevision)
            {
                throw new InvalidOperationException("a key has no versions, or one from the future");
            }

            for (var i = 0; i < history.Count; i++)
            {
                size += EntryCost(history.Key.Length, history[i].Value?.Length ?? 0);
                entries++;
                if (i > 0 && history[i].Main <= CompactRevision)
                {
                    throw new InvalidOperationException("compaction left a superseded version behind");
                }
            }
        }

        if (size != SizeBytes || entries != EntryCount)
        {
            throw new InvalidOperationException($"size {SizeBytes}/{EntryCount} but versions add up to {size}/{entries}");
        }

        CheckAttachments();
    }

    // Every live key whose newest version names a granted lease is attached to it, and no other key is.
    private void CheckAttachments()
    {
        var expected = new Dictionary<long, int>();
        var cursor = Keys.First();
        while (cursor.Next(out var history))
        {
            var lease = history.IsLive ? history.Last.Lease : 0;
            if (lease != 0 && LeaseTable.TryGet(lease, out _))
            {
                expected[lease] = expected.GetValueOrDefault(lease) + 1;
                if (!LeaseTable.Keys(lease).Contains(history.Key))
                {
                    throw new InvalidOperationException($"key '{history.Key.ToStringUtf8()}' names lease {lease} but is not attached to it");
                }
            }
        }

        foreach (var (id, _, _) in LeaseTable.All())
        {
            if (LeaseTable.KeyCount(id) != expected.GetValueOrDefault(id))
            {
                throw new InvalidOperationException($"lease {id} has {LeaseTable.KeyCount(id)} keys attached, {expected.GetValueOrDefault(id)} name it");
            }
        }
    }

    /// <summary>After a restore: attaches every live key whose newest version names a granted lease.</summary>
    public void RebuildAttachments()
    {
        var cursor = Keys.First();
        while (cursor.Next(out var history))
        {
            var lease = history.IsLive ? history.Last.Lease : 0;
            if (lease != 0 && LeaseTable.TryGet(lease, out _))
            {
                LeaseTable.Attach(lease, history.Key);
            }
        }
    }

    /// <summary>Sets the scalar state read from a snapshot; only on a fresh state.</summary>
    public void RestoreScalars(ulong appliedIndex, long currentRevision, long compactRevision)
    {
        if (Keys.Count != 0 || EntryCount != 0 || AppliedIndex != 0)
        {
            throw new InvalidOperationException("restore needs an empty state");
        }

        if (currentRevision < 1 || compactRevision < -1 || compactRevision > currentRevision)
        {
            throw new ArgumentOutOfRangeException(
                nameof(currentRevision), $"revisions current={currentRevision} compact={compactRevision} are inconsistent");
        }

        AppliedIndex = appliedIndex;
        CurrentRevision = currentRevision;
        CompactRevision = compactRevision;
    }

    /// <summary>Adds a version read from a snapshot (any key order); the log is rebuilt afterwards.</summary>
    public void RestoreEntry(KeyHistory history, in RevisionEntry entry)
    {
        if (entry.Main < 1 || entry.Main > CurrentRevision || entry.Sub < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(entry), $"revision ({entry.Main},{entry.Sub}) is outside the snapshot");
        }

        AppendTracked(history, entry);
        SizeBytes += EntryCost(history.Key.Length, entry.Value?.Length ?? 0);
        EntryCount++;
    }

    /// <summary>Rebuilds the change log from the restored histories.</summary>
    public void RebuildLog()
    {
        if (Log.Count != 0)
        {
            throw new InvalidOperationException("log already built");
        }

        var changes = new List<LogEntry>();
        var cursor = Keys.First();
        while (cursor.Next(out var history))
        {
            for (var i = 0; i < history.Count; i++)
            {
                ref readonly var entry = ref history[i];
                if (entry.Main >= CompactRevision)
                {
                    changes.Add(new LogEntry(entry.Main, entry.Sub, history));
                }
            }
        }

        changes.Sort(static (a, b) => a.Main != b.Main ? a.Main.CompareTo(b.Main) : a.Sub.CompareTo(b.Sub));
        foreach (var change in changes)
        {
            Log.Append(change.Main, change.Sub, change.History);
        }
    }
}
