namespace RaftKv.Raft;

/// <summary>
/// The node's view of its log: stable entries in <see cref="IRaftStorage"/> followed by unstable ones not yet
/// persisted, plus the commit and apply positions.
/// </summary>
internal sealed class RaftLog
{
    private readonly IRaftStorage _storage;
    private readonly Unstable _unstable;

    /// <summary>Highest index known committed. Invariant: never decreases; Applied &lt;= Committed &lt;= LastIndex.</summary>
    public ulong Committed { get; private set; }

    /// <summary>Highest index the host has applied (acknowledged through <see cref="RaftNode.Advance"/>).</summary>
    public ulong Applied { get; private set; }

    public RaftLog(IRaftStorage storage, ulong appliedIndex)
    {
        _storage = storage;
        _unstable = new Unstable(storage.LastIndex + 1);
        var snapshotIndex = storage.FirstIndex - 1;
        Committed = snapshotIndex;
        Applied = snapshotIndex;
        var hardState = storage.HardState;
        if (hardState.Commit > Committed)
        {
            RaftInvariantException.Assert(hardState.Commit <= storage.LastIndex,
                $"persisted commit {hardState.Commit} is beyond the persisted log, which ends at {storage.LastIndex}");
            Committed = hardState.Commit;
        }
        if (appliedIndex > Applied)
        {
            RaftInvariantException.Assert(appliedIndex <= Committed,
                $"the state machine claims index {appliedIndex} applied, but only {Committed} is committed");
            Applied = appliedIndex;
        }
    }

    public ulong FirstIndex => _unstable.MaybeFirstIndex ?? _storage.FirstIndex;

    public ulong LastIndex => _unstable.MaybeLastIndex ?? _storage.LastIndex;

    public ulong LastTerm => TermOrZero(LastIndex);

    /// <summary>Last index the host has persisted (the leader counts only these for itself).</summary>
    public ulong StableLastIndex => _unstable.Snapshot is not null ? _storage.LastIndex : _unstable.Offset - 1;

    public IReadOnlyList<Entry> UnstableEntries => _unstable.Entries;

    public Snapshot? PendingSnapshot => _unstable.Snapshot;

    public LogLookup TryTerm(ulong index, out ulong term)
    {
        term = 0;
        var dummy = FirstIndex - 1;
        if (index < dummy) return LogLookup.Compacted;
        if (index > LastIndex) return LogLookup.Unavailable;
        if (_unstable.TryTerm(index, out term)) return LogLookup.Ok;
        return _storage.TryGetTerm(index, out term);
    }

    public ulong TermOrZero(ulong index) => TryTerm(index, out var t) == LogLookup.Ok ? t : 0;

    public bool MatchTerm(ulong index, ulong term) => TryTerm(index, out var t) == LogLookup.Ok && t == term;

    /// <summary>Voting rule (paper section 5.4.1): is a log ending at (lastIndex, lastTerm) at least as up to date as ours?</summary>
    public bool IsUpToDate(ulong lastIndex, ulong lastTerm) =>
        lastTerm > LastTerm || (lastTerm == LastTerm && lastIndex >= LastIndex);

    /// <summary>
    /// Fast backtracking hint: the largest index &lt;= <paramref name="index"/> whose term is &lt;= <paramref name="term"/>,
    /// with that term. Entries after it cannot match a log whose entry at <paramref name="index"/> has <paramref name="term"/>.
    /// </summary>
    public (ulong Index, ulong Term) FindConflictByTerm(ulong index, ulong term)
    {
        for (; index > 0; index--)
        {
            if (TryTerm(index, out var t) != LogLookup.Ok) return (index, 0);
            if (t <= term) return (index, t);
        }
        return (0, 0);
    }

    /// <summary>
    /// AppendEntries receiver (paper figure 2, steps 2 to 5). Returns the index of the last new entry, or null when
    /// the log does not contain (prevIndex, prevTerm).
    /// </summary>
    public ulong? MaybeAppend(ulong prevIndex, ulong prevTerm, ulong leaderCommit, IReadOnlyList<Entry> entries)
    {
        if (!MatchTerm(prevIndex, prevTerm)) return null;
        var lastNew = prevIndex + (ulong)entries.Count;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            RaftInvariantException.Assert(e.Index == prevIndex + 1 + (ulong)i, $"append entries not contiguous at {e.Index}");
            if (MatchTerm(e.Index, e.Term)) continue;
            // First conflict (or first new entry). A committed entry can never conflict (paper section 5.4).
            RaftInvariantException.Assert(e.Index > Committed,
                $"entry {e.Index} (term {e.Term}) conflicts with committed entry of term {TermOrZero(e.Index)}, commit {Committed}");
            _unstable.TruncateAndAppend(entries, i);
            break;
        }
        CommitTo(Math.Min(leaderCommit, lastNew));
        return lastNew;
    }

    /// <summary>Appends the leader's own new entries.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0) return;
        RaftInvariantException.Assert(entries[0].Index == LastIndex + 1, $"leader append at {entries[0].Index} after last {LastIndex}");
        _unstable.TruncateAndAppend(entries, 0);
    }

    /// <summary>Entries from <paramref name="low"/> to the end, at most <paramref name="maxBytes"/> (at least one).</summary>
    public LogLookup Entries(ulong low, long maxBytes, List<Entry> into)
    {
        if (low > LastIndex) return LogLookup.Ok;
        return Slice(low, LastIndex + 1, maxBytes, into);
    }

    public LogLookup Slice(ulong low, ulong high, long maxBytes, List<Entry> into)
    {
        RaftInvariantException.Assert(low <= high, $"slice [{low},{high}) is inverted");
        if (low < FirstIndex) return LogLookup.Compacted;
        if (high > LastIndex + 1) return LogLookup.Unavailable;
        if (low == high) return LogLookup.Ok;
        var start = into.Count;
        var offset = _unstable.Offset;
        if (low < offset)
        {
            var result = _storage.GetEntries(low, Math.Min(high, offset), maxBytes, into);
            if (result != LogLookup.Ok) return result;
            var got = (ulong)(into.Count - start);
            RaftInvariantException.Assert(got > 0, $"storage returned no entries for [{low},{Math.Min(high, offset)})");
            if (got < Math.Min(high, offset) - low) return LogLookup.Ok; // size limit reached
        }
        if (high > offset)
        {
            _unstable.Slice(Math.Max(low, offset), high, into);
        }
        // Apply the size limit across both parts (storage already limited its own part).
        long size = 0;
        for (var i = start; i < into.Count; i++)
        {
            size += into[i].SizeBytes;
            if (size > maxBytes && i > start)
            {
                into.RemoveRange(i, into.Count - i);
                break;
            }
        }
        return LogLookup.Ok;
    }

    public bool HasNextCommittedEntries => Committed > Math.Max(Applied, FirstIndex - 1) && _unstable.Snapshot is null;

    public void NextCommittedEntries(long maxBytes, List<Entry> into)
    {
        if (!HasNextCommittedEntries) return;
        var low = Math.Max(Applied + 1, FirstIndex);
        var result = Slice(low, Committed + 1, maxBytes, into);
        RaftInvariantException.Assert(result == LogLookup.Ok, $"committed entries [{low},{Committed}] are not readable: {result}");
    }

    public Snapshot? CurrentSnapshot => _unstable.Snapshot ?? _storage.Snapshot;

    /// <summary>Advances commit to <paramref name="index"/> only if that entry is from <paramref name="term"/> (paper section 5.4.2, figure 8).</summary>
    public bool MaybeCommit(ulong index, ulong term)
    {
        if (index <= Committed || TermOrZero(index) != term) return false;
        CommitTo(index);
        return true;
    }

    public void CommitTo(ulong index)
    {
        if (index <= Committed) return;
        RaftInvariantException.Assert(index <= LastIndex, $"commit {index} is beyond the last index {LastIndex}");
        Committed = index;
    }

    public void AppliedTo(ulong index)
    {
        if (index == 0) return;
        RaftInvariantException.Assert(index <= Committed && index >= Applied,
            $"applied {index} is outside [{Applied}, {Committed}]");
        Applied = index;
    }

    public void StableTo(ulong index, ulong term) => _unstable.StableTo(index, term);

    public void StableSnapTo(ulong index) => _unstable.StableSnapTo(index);

    /// <summary>Replaces the log with a snapshot (paper section 7): everything up to its index is committed.</summary>
    public void Restore(Snapshot snapshot)
    {
        Committed = snapshot.Index;
        _unstable.Restore(snapshot);
    }

    /// <summary>After the host applied a received snapshot, the state machine is at its index.</summary>
    public void AppliedSnapshot(ulong index)
    {
        if (index > Applied) Applied = index;
    }
}
