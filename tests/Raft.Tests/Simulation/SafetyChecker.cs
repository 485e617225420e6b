namespace RaftKv.Raft.Tests.Simulation;

/// <summary>
/// Checks the safety properties of the Raft paper (figure 3) as the simulation runs. Every violation throws
/// <see cref="SimulationFailure"/> through the cluster, which adds the seed and the trace.
/// </summary>
/// <remarks>
/// Log matching and state-machine safety are checked with prefix hashes: the hash of a log prefix ending at index
/// i covers every entry up to i, so two logs agreeing on the hash at i agree on everything before it.
/// </remarks>
public sealed class SafetyChecker
{
    private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];                  // election safety
    private readonly Dictionary<(ulong Index, ulong Term), ulong> _prefixOf = [];  // log matching
    private readonly List<ulong> _committedPrefix = [0];                           // [i] = prefix hash of committed log at i
    private readonly Dictionary<ulong, ulong> _maxCommitSeenAtTerm = [];           // term -> highest commit a node at that term reported
    private readonly List<(ulong Term, string Data)> _applied = [(0, "")];          // [i] = what was applied at i

    public long Checks { get; private set; }

    public ulong MaxCommitted => (ulong)_committedPrefix.Count - 1;

    public ulong CommittedPrefix(ulong index) => _committedPrefix[(int)index];

    private static void Fail(string property, string detail) => throw new SimulationFailure($"{property} violated: {detail}");

    /// <summary>Election safety (paper section 5.2): at most one leader per term.</summary>
    public void OnLeader(SimNode node, ulong term)
    {
        Checks++;
        if (_leaderOfTerm.TryGetValue(term, out var other) && other != node.Id)
            Fail("election safety", $"{node.Name} and node {other} both lead term {term}");
        _leaderOfTerm[term] = node.Id;
    }

    /// <summary>Log matching (paper section 5.3), on every persisted entry.</summary>
    public void OnEntriesPersisted(SimNode node, IReadOnlyList<Entry> entries)
    {
        var first = entries[0].Index;
        if (first <= node.PrefixBase) Fail("storage contract", $"{node.Name} persisted entry {first} at or below its snapshot {node.PrefixBase}");
        if (first > node.PersistedLastIndex + 1) Fail("storage contract", $"{node.Name} persisted entry {first} after a gap (last {node.PersistedLastIndex})");
        // A node that holds a committed entry must never replace it (a stale leader may still append at a
        // committed index of its own diverged log; that is legal until it applies it, which is checked on apply).
        var heldCommitted = first <= MaxCommitted && node.TryPrefixAt(first, out var before) && before == _committedPrefix[(int)first];
        var keep = (int)(first - node.PrefixBase);
        node.PrefixHashes.RemoveRange(keep, node.PrefixHashes.Count - keep);
        var hash = node.PrefixHashes[^1];
        foreach (var e in entries)
        {
            Checks++;
            hash = Hash.Entry(hash, e);
            node.PrefixHashes.Add(hash);
            if (_prefixOf.TryGetValue((e.Index, e.Term), out var known))
            {
                if (known != hash)
                    Fail("log matching", $"{node.Name} holds entry {e.Index} of term {e.Term} with a different history than another node");
            }
            else _prefixOf[(e.Index, e.Term)] = hash;
        }
        if (heldCommitted && node.TryPrefixAt(first, out var after) && after != _committedPrefix[(int)first])
            Fail("leader completeness / state machine safety", $"{node.Name} overwrote committed entry {first}");
    }

    public void OnSnapshotPersisted(SimNode node, Snapshot snapshot)
    {
        Checks++;
        if (snapshot.Index > MaxCommitted) Fail("snapshot safety", $"{node.Name} received a snapshot at {snapshot.Index} beyond every commit ({MaxCommitted})");
        if (!_prefixOf.TryGetValue((snapshot.Index, snapshot.Term), out var hash))
            Fail("snapshot safety", $"snapshot {snapshot.Term}/{snapshot.Index} names an entry no node ever held");
        if (hash != _committedPrefix[(int)snapshot.Index])
            Fail("snapshot safety", $"snapshot {snapshot.Term}/{snapshot.Index} is not the committed history");
        node.PrefixHashes.Clear();
        node.PrefixHashes.Add(hash);
        node.PrefixBase = snapshot.Index;
    }

    /// <summary>Hard state checks on persist: term never goes back, a vote is never changed within a term, commit never goes back.</summary>
    public void OnHardStatePersisted(SimNode node, HardState before, HardState after)
    {
        Checks++;
        if (after.Term < before.Term) Fail("term monotonicity", $"{node.Name} term {before.Term} -> {after.Term}");
        if (after.Term == before.Term && before.Vote != RaftNode.None && after.Vote != before.Vote)
            Fail("one vote per term", $"{node.Name} changed its vote in term {after.Term} from {before.Vote} to {after.Vote}");
        if (after.Commit < before.Commit) Fail("commit monotonicity", $"{node.Name} persisted commit {before.Commit} -> {after.Commit}");
        if (after.Commit > node.PersistedLastIndex)
            Fail("durability", $"{node.Name} committed {after.Commit} but has persisted only up to {node.PersistedLastIndex}");
        OnCommitObserved(node, after.Commit, after.Term);
    }

    private void OnCommitObserved(SimNode node, ulong commit, ulong term)
    {
        if (commit == 0) return;
        if (!_maxCommitSeenAtTerm.TryGetValue(term, out var seen) || commit > seen) _maxCommitSeenAtTerm[term] = commit;
        if (commit > MaxCommitted)
        {
            if (node.PrefixBase > MaxCommitted)
                Fail("snapshot safety", $"{node.Name} has a snapshot at {node.PrefixBase} beyond the committed {MaxCommitted}");
            for (var i = MaxCommitted + 1; i <= commit; i++)
            {
                if (!node.TryPrefixAt(i, out var h)) Fail("durability", $"{node.Name} committed {i} without holding it");
                _committedPrefix.Add(h);
            }
        }
        else if (node.TryPrefixAt(commit, out var h) && h != _committedPrefix[(int)commit])
        {
            Fail("state machine safety", $"{node.Name} committed a different entry at {commit} than the cluster did");
        }
    }

    /// <summary>Commit index of a live node never decreases (within one incarnation it is in memory).</summary>
    public void OnCommitIndex(SimNode node, ulong commit)
    {
        Checks++;
        if (commit < node.LastSeenCommit) Fail("commit monotonicity", $"{node.Name} commit {node.LastSeenCommit} -> {commit}");
        node.LastSeenCommit = commit;
    }

    /// <summary>Leader completeness (paper section 5.4.1): a leader of term T holds every entry committed in terms below T.</summary>
    public void OnLeaderLog(SimNode node, ulong term)
    {
        ulong required = 0;
        foreach (var (t, commit) in _maxCommitSeenAtTerm)
        {
            if (t < term && commit > required) required = commit;
        }
        if (required == 0) return;
        Checks++;
        if (required > node.PersistedLastIndex)
            Fail("leader completeness", $"{node.Name} leads term {term} with log ending at {node.PersistedLastIndex}, but {required} was committed earlier");
        if (node.TryPrefixAt(required, out var h) && h != _committedPrefix[(int)required])
            Fail("leader completeness", $"{node.Name} leads term {term} without the committed entry {required}");
    }

    /// <summary>State machine safety (paper section 5.4.3): no two nodes apply different entries at an index.</summary>
    public void OnApplied(SimNode node, in Entry entry)
    {
        Checks++;
        if (entry.Index != node.AppliedIndex + 1) Fail("apply order", $"{node.Name} applied {entry.Index} after {node.AppliedIndex}");
        if (entry.Index > MaxCommitted) Fail("state machine safety", $"{node.Name} applied {entry.Index} before it was committed ({MaxCommitted})");
        if (node.TryPrefixAt(entry.Index, out var h) && h != _committedPrefix[(int)entry.Index])
            Fail("state machine safety", $"{node.Name} applied an entry at {entry.Index} that is not the committed one");
        var data = Hash.Text(entry.Data);
        if (entry.Index < (ulong)_applied.Count)
        {
            var (term, known) = _applied[(int)entry.Index];
            if (term != entry.Term || known != data)
                Fail("state machine safety", $"{node.Name} applied '{data}' (term {entry.Term}) at {entry.Index}, another node applied '{known}' (term {term})");
        }
        else if (entry.Index == (ulong)_applied.Count) _applied.Add((entry.Term, data));
        else Fail("apply order", $"{node.Name} applied {entry.Index} before any node applied {_applied.Count}");
    }

    /// <summary>What was applied at an index (for client acknowledgement checks).</summary>
    public bool TryGetApplied(ulong index, out string data)
    {
        data = "";
        if (index >= (ulong)_applied.Count || index == 0) return false;
        data = _applied[(int)index].Data;
        return true;
    }

    public ulong MaxApplied => (ulong)_applied.Count - 1;
}
