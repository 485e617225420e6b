namespace RaftKv.Raft.Testing;

/// <summary>
/// Checks the safety properties of the Raft paper (figure 3) as the simulation runs, and the configuration rules of
/// thesis chapter 4: a leader is elected by a quorum of the voters of its configuration (both halves when joint, never
/// with a learner's vote) and stops leading once it is no longer a voter; every commit a leader makes is held by a
/// quorum of its configuration; no log holds more than one uncommitted configuration change; every node computes the
/// same configuration at each index. Every violation throws <see cref="SimulationFailure"/> through the cluster, which
/// adds the seed and the trace.
/// </summary>
/// <remarks>
/// Log matching and state-machine safety are checked with prefix hashes: the hash of a log prefix ending at index
/// i covers every entry up to i, so two logs agreeing on the hash at i agree on everything before it.
/// </remarks>
public sealed class SafetyChecker(ConfState initial)
{
    private readonly Dictionary<(ulong Term, ulong Voter), ulong> _votes = [];               // votes granted (sent)
    private readonly SortedDictionary<ulong, ConfState> _configurationAt = new() { [0] = initial }; // index -> configuration from it on

    private readonly Dictionary<ulong, ulong> _leaderOfTerm = [];                  // election safety
    private readonly Dictionary<(ulong Index, ulong Term), ulong> _prefixOf = [];  // log matching
    private readonly List<ulong> _committedPrefix = [0];                           // [i] = prefix hash of committed log at i
    private readonly Dictionary<ulong, ulong> _maxCommitSeenAtTerm = [];           // term -> highest commit a node at that term reported
    private readonly List<(ulong Term, string Data)> _applied = [(0, "")];          // [i] = what was applied at i

    /// <summary>How many checks ran (each a property that held).</summary>
    public long Checks { get; private set; }

    /// <summary>The highest index known to be committed.</summary>
    public ulong MaxCommitted => (ulong)_committedPrefix.Count - 1;

    /// <summary>The rolling hash of the committed log up to <paramref name="index"/>.</summary>
    public ulong CommittedPrefix(ulong index) => _committedPrefix[(int)index];

    private static void Fail(string property, string detail) => throw new SimulationFailure($"{property} violated: {detail}");

    /// <summary>Every configuration the cluster has been in, in log order.</summary>
    public IEnumerable<ConfState> Configurations => _configurationAt.Values;

    /// <summary>The configuration as of the highest applied index.</summary>
    public ConfState Configuration => _configurationAt.Last().Value;

    /// <summary>
    /// Election safety (paper section 5.2): at most one leader per term, elected by a quorum of the voters of its
    /// configuration (thesis section 4.3: of both halves when joint; a learner's vote never counts); and a leader
    /// is a voter of its own configuration (a removed leader steps down, thesis section 4.2.2).
    /// </summary>
    public void OnLeader(SimNode node, ulong term, ConfState conf)
    {
        Checks++;
        if (_leaderOfTerm.TryGetValue(term, out var other) && other != node.Id)
            Fail("election safety", $"{node.Name} and node {other} both lead term {term}");
        if (!conf.IsVoter(node.Id)) Fail("removed leader steps down", $"{node.Name} leads term {term} but is not a voter of its configuration {conf}");
        if (other == 0)
        {
            var voters = conf.AllIds().Where(id => id == node.Id || (_votes.TryGetValue((term, id), out var c) && c == node.Id)).ToArray();
            if (!conf.IsQuorum(id => voters.Contains(id)))
                Fail("election quorum", $"{node.Name} leads term {term} with the votes of {string.Join(",", voters)}, not a quorum of the voters of {conf}");
        }
        _leaderOfTerm[term] = node.Id;
    }

    /// <summary>
    /// A granted vote leaves its node (after the Ready that made it durable: a later term persisted in the same Ready
    /// keeps the promise too). One vote per term (paper section 5.2), and the election check counts these.
    /// </summary>
    public void OnVoteSent(Message m)
    {
        if (m.Type != MessageType.VoteResponse || m.Reject) return;
        Checks++;
        if (_votes.TryGetValue((m.Term, m.From), out var earlier) && earlier != m.To)
            Fail("one vote per term", $"node {m.From} granted its vote in term {m.Term} to {m.To} after granting it to {earlier}");
        _votes[(m.Term, m.From)] = m.To;
    }

    /// <summary>A commit a leader made: held (persisted) by a quorum of the configuration it used (both halves when joint).</summary>
    public void OnLeaderCommitted(SimNode leader, ulong commit, ConfState conf, IReadOnlyList<SimNode> nodes)
    {
        Checks++;
        var prefix = _committedPrefix[(int)commit];
        var holders = nodes.Where(n => n.PrefixBase >= commit || (n.TryPrefixAt(commit, out var h) && h == prefix)).Select(n => n.Id).ToHashSet();
        if (!conf.IsQuorum(holders.Contains))
            Fail("commit quorum", $"{leader.Name} committed {commit} held only by {string.Join(",", holders.Order())}, not a quorum of {conf}");
    }

    /// <summary>The leader's configuration change applied on <paramref name="node"/> gives what every other node got at that index.</summary>
    public void OnConfigurationApplied(SimNode node, ulong index, ConfState conf)
    {
        Checks++;
        if (!_configurationAt.TryGetValue(index, out var expected))
            Fail("configuration agreement", $"{node.Name} applied a configuration change at {index} the checker did not see committed");
        if (!expected!.Equals(conf)) Fail("configuration agreement", $"{node.Name} computed {conf} at {index}, the cluster {expected}");
    }

    /// <summary>At most one change in flight at a leader.</summary>
    public void OnLeaderConfChanges(SimNode node, ulong term)
    {
        Checks++;
        // At most one change in flight (etcd's pendingConfIndex): beyond the leader's applied index, its log holds at
        // most one change of its own term.
        var own = node.ConfChangeIndexes.GetViewBetween(node.AppliedIndex + 1, ulong.MaxValue).Count(i => node.ConfChangeTerms[i] == term);
        if (own > 1) Fail("one configuration change at a time", $"{node.Name} leads term {term} with {own} unapplied configuration changes of its own term");
    }

    /// <summary>Log matching (paper section 5.3), on every persisted entry.</summary>
    /// <param name="node">The node that persisted them.</param>
    /// <param name="entries">The entries.</param>
    /// <param name="commitWith">A commit index persisted atomically with them (bootstrap entries are born committed).</param>
    public void OnEntriesPersisted(SimNode node, IReadOnlyList<Entry> entries, ulong commitWith = 0)
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
        node.ConfChangeIndexes.RemoveWhere(i => i >= first);
        foreach (var e in entries)
        {
            if (e.Type != EntryType.ConfChange) continue;
            node.ConfChangeIndexes.Add(e.Index);
            node.ConfChangeTerms[e.Index] = e.Term;
        }
        // A change is proposed only once every earlier one in the proposer's log is applied, hence committed (thesis
        // section 4.1, etcd's pendingConfIndex): no log ever holds two uncommitted changes.
        var uncommitted = node.ConfChangeIndexes.GetViewBetween(Math.Max(MaxCommitted, commitWith) + 1, ulong.MaxValue).Count;
        if (uncommitted > 1)
            Fail("one configuration change at a time", $"{node.Name} holds {uncommitted} configuration changes beyond the commit index {MaxCommitted}");
    }

    /// <summary>Records that <paramref name="node"/> persisted <paramref name="snapshot"/>: it must hold only committed entries.</summary>
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
        node.ConfChangeIndexes.Clear();
        // The snapshot carries the configuration as of its index.
        var expected = _configurationAt.Last(c => c.Key <= snapshot.Index).Value;
        if (!expected.Equals(snapshot.Metadata.ConfState))
            Fail("snapshot configuration", $"snapshot {snapshot.Term}/{snapshot.Index} carries {snapshot.Metadata.ConfState}, the configuration there is {expected}");
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
        else if (entry.Index == (ulong)_applied.Count)
        {
            _applied.Add((entry.Term, data));
            if (entry.Type == EntryType.ConfChange) ModelConfChange(entry);
        }
        else Fail("apply order", $"{node.Name} applied {entry.Index} before any node applied {_applied.Count}");
    }

    /// <summary>The checker's own model of the configuration: every committed change applied in log order.</summary>
    private void ModelConfChange(in Entry entry)
    {
        ConfChange change;
        try
        {
            change = ConfChange.Decode(entry.Data.Span);
        }
        catch (FormatException e)
        {
            Fail("configuration", $"the committed configuration change at {entry.Index} does not decode: {e.Message}");
            return;
        }
        if (!change.TryApply(Configuration, out var next, out var why))
            Fail("configuration", $"the committed change '{change}' at {entry.Index} does not apply to {Configuration}: {why}");
        _configurationAt[entry.Index] = next;
    }

    /// <summary>What was applied at an index (for client acknowledgement checks).</summary>
    public bool TryGetApplied(ulong index, out string data)
    {
        data = "";
        if (index >= (ulong)_applied.Count || index == 0) return false;
        data = _applied[(int)index].Data;
        return true;
    }

    /// <summary>The highest index any server applied.</summary>
    public ulong MaxApplied => (ulong)_applied.Count - 1;
}
