namespace RaftKv.Raft;

/// <summary>
/// An in-memory <see cref="IRaftLogStorage"/>: the reference implementation, used by tests, by ephemeral nodes and as
/// the read cache in front of a durable log. Nothing survives the process. Not thread-safe; used from the node's
/// thread only.
/// </summary>
public sealed class MemoryStorage : IRaftLogStorage
{
    // Invariant: entries[0] is a sentinel standing for the snapshot (its Index and Term); real entries follow,
    // contiguous, so entries[i].Index == entries[0].Index + i.
    private readonly List<Entry> _entries = [new Entry(0, 0, EntryType.Normal, default)];

    /// <inheritdoc />
    public HardState HardState { get; private set; }

    /// <inheritdoc />
    public ConfState? ConfState => Snapshot?.Metadata.ConfState;

    /// <inheritdoc />
    public Snapshot? Snapshot { get; private set; }

    /// <inheritdoc />
    public ulong FirstIndex => _entries[0].Index + 1;

    /// <inheritdoc />
    public ulong LastIndex => _entries[0].Index + (ulong)(_entries.Count - 1);

    /// <summary>Number of entries held (not counting the snapshot).</summary>
    public int Count => _entries.Count - 1;

    /// <inheritdoc />
    public LogLookup TryGetTerm(ulong index, out ulong term)
    {
        term = 0;
        var offset = _entries[0].Index;
        if (index < offset) return LogLookup.Compacted;
        if (index > LastIndex) return LogLookup.Unavailable;
        term = _entries[(int)(index - offset)].Term;
        return LogLookup.Ok;
    }

    /// <inheritdoc />
    public LogLookup GetEntries(ulong low, ulong high, long maxBytes, List<Entry> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var offset = _entries[0].Index;
        if (low <= offset) return LogLookup.Compacted;
        if (high > LastIndex + 1) return LogLookup.Unavailable;
        long size = 0;
        for (var i = low; i < high; i++)
        {
            var e = _entries[(int)(i - offset)];
            size += e.SizeBytes;
            if (size > maxBytes && i > low) break;
            into.Add(e);
        }
        return LogLookup.Ok;
    }

    /// <inheritdoc />
    public void Save(HardState? hardState, IReadOnlyList<Entry> entries, Snapshot? snapshot, bool mustSync)
    {
        if (snapshot is not null) ApplySnapshot(snapshot);
        Append(entries);
        if (hardState is { } hs) SetHardState(hs);
    }

    /// <summary>Records the persisted hard state.</summary>
    public void SetHardState(HardState state) => HardState = state;

    /// <summary>
    /// Appends entries, replacing any existing suffix from the first new index (a conflicting tail written by an
    /// old leader). Entries below the snapshot are ignored.
    /// </summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0) return;
        var first = FirstIndex;
        var start = 0;
        while (start < entries.Count && entries[start].Index < first) start++;
        if (start == entries.Count) return;
        var from = entries[start].Index;
        if (from > LastIndex + 1)
            throw new RaftInvariantException($"append leaves a gap: log ends at {LastIndex}, new entries start at {from}");
        _entries.RemoveRange((int)(from - _entries[0].Index), _entries.Count - (int)(from - _entries[0].Index));
        for (var i = start; i < entries.Count; i++)
        {
            if (entries[i].Index != from + (ulong)(i - start))
                throw new RaftInvariantException($"entries to append are not contiguous at {entries[i].Index}");
            _entries.Add(entries[i]);
        }
    }

    /// <summary>Replaces the whole log with a received snapshot (the log restarts after it).</summary>
    public void ApplySnapshot(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (Snapshot is not null && snapshot.Index <= Snapshot.Index)
            throw new RaftInvariantException($"snapshot {snapshot.Index} is not newer than {Snapshot.Index}");
        Snapshot = snapshot;
        _entries.Clear();
        _entries.Add(new Entry(snapshot.Index, snapshot.Term, EntryType.Normal, default));
    }

    /// <summary>
    /// Records a snapshot the state machine took at <paramref name="index"/> (which must be applied, so present
    /// in the log) and discards entries up to it. The log after the snapshot is kept.
    /// </summary>
    public Snapshot CreateSnapshot(ulong index, ConfState confState, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(confState);
        var snapIndex = _entries[0].Index;
        if (index <= snapIndex) throw new RaftInvariantException($"snapshot at {index} is not newer than {snapIndex}");
        if (index > LastIndex) throw new RaftInvariantException($"snapshot at {index} is beyond the last index {LastIndex}");
        var term = _entries[(int)(index - snapIndex)].Term;
        Snapshot = new Snapshot(new SnapshotMetadata(index, term, confState), data);
        Compact(index);
        return Snapshot;
    }

    /// <inheritdoc />
    /// <remarks>Nothing to write: the staged snapshot only holds the data until it is published.</remarks>
    public StagedSnapshot StageSnapshot(SnapshotMetadata metadata, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return new StagedSnapshot(new Snapshot(metadata, data));
    }

    /// <inheritdoc />
    public Snapshot? PublishSnapshot(StagedSnapshot staged)
    {
        ArgumentNullException.ThrowIfNull(staged);
        var metadata = staged.Snapshot.Metadata;
        if (metadata.Index < FirstIndex) return null;
        if (TryGetTerm(metadata.Index, out var term) != LogLookup.Ok || term != metadata.Term)
            throw new RaftInvariantException($"staged snapshot at {metadata.Index} has term {metadata.Term}, the log holds term {term} there (last index {LastIndex})");
        return CreateSnapshot(metadata.Index, metadata.ConfState, staged.Snapshot.Data);
    }

    /// <inheritdoc />
    public void DiscardSnapshot(StagedSnapshot staged) => ArgumentNullException.ThrowIfNull(staged);

    /// <summary>Discards entries before and including <paramref name="index"/>, keeping its index and term as the sentinel.</summary>
    public void Compact(ulong index)
    {
        var offset = _entries[0].Index;
        if (index <= offset) return;
        if (index > LastIndex) throw new RaftInvariantException($"compact {index} is beyond the last index {LastIndex}");
        var n = (int)(index - offset);
        var sentinel = _entries[n];
        _entries.RemoveRange(0, n);
        _entries[0] = new Entry(sentinel.Index, sentinel.Term, EntryType.Normal, default);
    }
}
