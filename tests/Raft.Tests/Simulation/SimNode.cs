using System.Text;

namespace RaftKv.Raft.Tests.Simulation;

/// <summary>
/// One simulated server: persisted storage that survives crashes, the in-memory Raft node (null while down),
/// and a tiny state machine (the list of applied commands) that snapshots and restores.
/// </summary>
public sealed class SimNode(ulong id, string name)
{
    public ulong Id { get; } = id;

    public string Name { get; } = name;

    /// <summary>What this server has persisted: survives <see cref="Cluster.Crash"/>.</summary>
    public MemoryStorage Storage { get; } = new();

    /// <summary>The running node, or null while crashed.</summary>
    public RaftNode? Raft { get; set; }

    public bool IsUp => Raft is not null;

    /// <summary>Incremented on every restart; distinguishes incarnations in checks.</summary>
    public int Incarnation { get; set; }

    /// <summary>Read-index request ids of the current incarnation: a fresh generator at every start, as in a new process.</summary>
    public ReadIdGenerator? ReadIds { get; set; }

    /// <summary>Applied commands (empty no-ops excluded), in order.</summary>
    public List<string> Applied { get; } = [];

    public ulong AppliedIndex { get; set; }

    /// <summary>Rolling hash over every applied entry (index, term, data): equal on two nodes iff they applied the same history.</summary>
    public ulong AppliedHash { get; set; }

    /// <summary>Commit index seen from this incarnation (must never decrease).</summary>
    public ulong LastSeenCommit { get; set; }

    /// <summary>Log-matching bookkeeping: hash of the persisted log prefix ending at <see cref="PrefixBase"/> + k.</summary>
    public List<ulong> PrefixHashes { get; } = [0];

    public ulong PrefixBase { get; set; }

    /// <summary>Indexes of the configuration-change entries in the persisted log (after the snapshot).</summary>
    public SortedSet<ulong> ConfChangeIndexes { get; } = [];

    /// <summary>Terms of the entries in <see cref="ConfChangeIndexes"/>.</summary>
    public Dictionary<ulong, ulong> ConfChangeTerms { get; } = [];

    /// <summary>The term this node led at its last Ready, or 0.</summary>
    public ulong LedTerm { get; set; }

    public ulong PersistedLastIndex => PrefixBase + (ulong)PrefixHashes.Count - 1;

    public bool TryPrefixAt(ulong index, out ulong hash)
    {
        hash = 0;
        if (index < PrefixBase || index > PersistedLastIndex) return false;
        hash = PrefixHashes[(int)(index - PrefixBase)];
        return true;
    }

    public byte[] SnapshotStateMachine()
    {
        var text = $"{AppliedIndex}\n{AppliedHash}\n{string.Join('\n', Applied)}";
        return Encoding.UTF8.GetBytes(text);
    }

    public void RestoreStateMachine(ReadOnlyMemory<byte> data)
    {
        Applied.Clear();
        if (data.IsEmpty)
        {
            AppliedIndex = 0;
            AppliedHash = 0;
            return;
        }
        var lines = Encoding.UTF8.GetString(data.Span).Split('\n');
        AppliedIndex = ulong.Parse(lines[0], System.Globalization.CultureInfo.InvariantCulture);
        AppliedHash = ulong.Parse(lines[1], System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 2; i < lines.Length; i++)
        {
            if (lines[i].Length > 0) Applied.Add(lines[i]);
        }
    }

    public override string ToString() => Raft is null
        ? $"{Name}: down (persisted term={Storage.HardState.Term} last={Storage.LastIndex})"
        : $"{Name}: {Raft.Role} term={Raft.Term} commit={Raft.CommitIndex} applied={AppliedIndex} last={Raft.LastIndex} lead={Raft.Lead} {Raft.Membership}";
}
