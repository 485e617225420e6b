namespace RaftKv.Raft.Storage.Wal;

/// <summary>
/// Rebuilds the log from the records of the remaining segments, in order, with the same rules the writer used:
/// an entry replaces everything from its index on (a new leader's conflicting suffix, paper section 5.3), a snapshot
/// marker restarts the log after the snapshot, and the last hard state wins. Every record is checked against what
/// could have been written; an impossible one is corruption.
/// </summary>
internal sealed class LogReplay
{
    private readonly List<Entry> _entries = [];
    private bool _originKnown;
    private ulong _sentinelIndex;
    private ulong _sentinelTerm;
    private ulong _first;
    private bool _sawHardState;

    /// <summary>Starts a replay. <paramref name="fromBeginning"/>: the first segment is the log's very first (index 1 follows).</summary>
    public LogReplay(bool fromBeginning)
    {
        _originKnown = fromBeginning;
        _first = 1;
    }

    /// <summary>The last hard state read.</summary>
    public HardState HardState { get; private set; }

    /// <summary>The newest snapshot marker read, if any.</summary>
    public (ulong Index, ulong Term, string Path, long OffsetBytes)? LastMarker { get; private set; }

    /// <summary>Index of the last entry read (or of the origin when there are none).</summary>
    private ulong LastIndex => _entries.Count > 0 ? _first + (ulong)_entries.Count - 1 : _first - 1;

    public void OnEntry(Entry entry, string path, long offset)
    {
        if (!_originKnown && _entries.Count == 0)
        {
            // Replay starts in the middle of the log (older segments were released): take the first entry as is.
            _first = entry.Index;
            _entries.Add(entry);
            return;
        }
        var next = LastIndex + 1;
        if (entry.Index > next)
            throw new StorageCorruptException(path, offset, $"an entry with index at most {next} (the log has no gaps)", $"index {entry.Index}");
        if (_originKnown && entry.Index <= _sentinelIndex)
            throw new StorageCorruptException(path, offset, $"an entry with index above {_sentinelIndex} (the log restarts there)", $"index {entry.Index}");
        if (entry.Index < _first)
        {
            // Only without a known origin: an older conflicting tail below where this replay happened to start.
            _entries.Clear();
            _first = entry.Index;
            _entries.Add(entry);
            return;
        }
        _entries.RemoveRange((int)(entry.Index - _first), _entries.Count - (int)(entry.Index - _first));
        var previousTerm = _entries.Count > 0 ? _entries[^1].Term : (_originKnown ? _sentinelTerm : 0);
        if (entry.Term < previousTerm)
            throw new StorageCorruptException(path, offset, $"entry {entry.Index} with a term of at least {previousTerm} (terms never decrease along a log)", $"term {entry.Term}");
        _entries.Add(entry);
    }

    public void OnHardState(HardState state, string path, long offset)
    {
        if (_sawHardState && state.Term < HardState.Term)
            throw new StorageCorruptException(path, offset, $"a hard state with term at least {HardState.Term} (terms never decrease)", $"term {state.Term}");
        HardState = state;
        _sawHardState = true;
    }

    public void OnMarker(ulong index, ulong term, string path, long offset)
    {
        if (LastMarker is { } previous && index <= previous.Index)
            throw new StorageCorruptException(path, offset, $"a snapshot marker above index {previous.Index} (snapshots only move forward)", $"index {index}");
        _originKnown = true;
        _sentinelIndex = index;
        _sentinelTerm = term;
        _first = index + 1;
        _entries.Clear();
        LastMarker = (index, term, path, offset);
    }

    /// <summary>
    /// Combines the replayed log with the newest valid snapshot: returns the entries after it. Throws
    /// <see cref="StorageCorruptException"/> when they cannot be joined (a gap, or a marker newer than any valid snapshot).
    /// </summary>
    public List<Entry> Finish(Snapshot? snapshot, string walDirectory, RecoveryReport report)
    {
        if (LastMarker is { } marker)
        {
            if (snapshot is null || snapshot.Index < marker.Index)
                throw new StorageCorruptException(marker.Path, marker.OffsetBytes,
                    $"a valid snapshot file at index {marker.Index} or later (this marker records that one was installed)",
                    snapshot is null ? "no valid snapshot file" : $"the newest valid snapshot is at index {snapshot.Index}");
            if (snapshot.Index == marker.Index && snapshot.Term != marker.Term)
                throw new StorageCorruptException(marker.Path, marker.OffsetBytes,
                    $"the snapshot at index {marker.Index} to have term {marker.Term}", $"term {snapshot.Term} in the snapshot file");
        }
        if (snapshot is null)
        {
            if (!_originKnown && _entries.Count > 0 && _first != 1)
                throw new StorageCorruptException(walDirectory, -1,
                    $"the log to start at index 1 or a snapshot to cover the entries before {_first}", $"no valid snapshot and a log starting at {_first}");
            return [.. _entries];
        }
        if (_entries.Count == 0 || LastIndex < snapshot.Index)
        {
            if (_entries.Count > 0)
                report.AddNote($"entries {_first}..{LastIndex} are all covered by the snapshot at {snapshot.Index}");
            return [];
        }
        if (_first > snapshot.Index + 1)
            throw new StorageCorruptException(walDirectory, -1,
                $"the log to continue right after the snapshot at index {snapshot.Index}", $"a gap: the log starts at index {_first}");
        if (_first <= snapshot.Index)
        {
            var termAtSnapshot = _entries[(int)(snapshot.Index - _first)].Term;
            if (termAtSnapshot != snapshot.Term)
            {
                // The snapshot was saved but the crash came before its marker: the old log diverged from it.
                report.AddNote($"entries {_first}..{LastIndex} diverge from the snapshot at {snapshot.Index} (term {termAtSnapshot}, snapshot term {snapshot.Term}) and were dropped");
                return [];
            }
        }
        else if (_originKnown && _sentinelIndex == snapshot.Index && _sentinelTerm != snapshot.Term)
        {
            report.AddNote($"entries after {snapshot.Index} follow a different term than the snapshot and were dropped");
            return [];
        }
        var skip = (int)(snapshot.Index + 1 - _first);
        return _entries.GetRange(skip, _entries.Count - skip);
    }
}
