using System.Text;

namespace RaftKv.Raft.Testing;

/// <summary>
/// One simulated server: persisted storage that survives crashes, the in-memory Raft node (null while down),
/// and a tiny state machine (the list of applied commands) that snapshots and restores.
/// </summary>
public sealed class SimNode(ulong id, string name)
{
    /// <summary>The server's id.</summary>
    public ulong Id { get; } = id;

    /// <summary>Its letter in traces.</summary>
    public string Name { get; } = name;

    /// <summary>What this server has persisted: survives <see cref="Cluster.Crash"/>.</summary>
    public MemoryStorage Storage { get; } = new();

    /// <summary>
    /// The application's state machine under test for this incarnation (made by the cluster's factory at every start,
    /// restored from the snapshot), or null. It is applied every committed entry after the built-in one.
    /// </summary>
    public RaftKv.Raft.Hosting.IStateMachine? StateMachine { get; set; }

    /// <summary>The running node, or null while crashed.</summary>
    public RaftNode? Raft { get; set; }

    /// <summary>Whether the server is running (not crashed).</summary>
    public bool IsUp => Raft is not null;

    /// <summary>Incremented on every restart; distinguishes incarnations in checks.</summary>
    public int Incarnation { get; set; }

    /// <summary>Read-index request ids of the current incarnation: a fresh generator at every start, as in a new process.</summary>
    public ReadIdGenerator? ReadIds { get; set; }

    /// <summary>Applied commands (empty no-ops excluded), in order.</summary>
    public List<string> Applied { get; } = [];

    /// <summary>The highest index applied to this incarnation's state machine.</summary>
    public ulong AppliedIndex { get; set; }

    /// <summary>Rolling hash over every applied entry (index, term, data): equal on two nodes iff they applied the same history.</summary>
    public ulong AppliedHash { get; set; }

    /// <summary>Commit index seen from this incarnation (must never decrease).</summary>
    public ulong LastSeenCommit { get; set; }

    /// <summary>Log-matching bookkeeping: hash of the persisted log prefix ending at <see cref="PrefixBase"/> + k.</summary>
    public List<ulong> PrefixHashes { get; } = [0];

    /// <summary>The index before the first entry of <see cref="PrefixHashes"/> (the snapshot's index).</summary>
    public ulong PrefixBase { get; set; }

    /// <summary>Indexes of the configuration-change entries in the persisted log (after the snapshot).</summary>
    public SortedSet<ulong> ConfChangeIndexes { get; } = [];

    /// <summary>Terms of the entries in <see cref="ConfChangeIndexes"/>.</summary>
    public Dictionary<ulong, ulong> ConfChangeTerms { get; } = [];

    /// <summary>The term this node led at its last Ready, or 0.</summary>
    public ulong LedTerm { get; set; }

    /// <summary>The last index of the persisted log.</summary>
    public ulong PersistedLastIndex => PrefixBase + (ulong)PrefixHashes.Count - 1;

    /// <summary>The persisted log's prefix hash at <paramref name="index"/>, when that index is persisted.</summary>
    public bool TryPrefixAt(ulong index, out ulong hash)
    {
        hash = 0;
        if (index < PrefixBase || index > PersistedLastIndex) return false;
        hash = PrefixHashes[(int)(index - PrefixBase)];
        return true;
    }

    /// <summary>The built-in state machine's snapshot (applied index, hash, commands), plus the application's state machine when there is one.</summary>
    public byte[] SnapshotStateMachine()
    {
        var user = "";
        if (StateMachine is not null)
        {
            using var buffer = new MemoryStream();
            StateMachine.CaptureSnapshot().WriteTo(buffer);
            user = UserLinePrefix + Convert.ToBase64String(buffer.GetBuffer(), 0, (int)buffer.Length) + "\n";
        }
        var text = $"{AppliedIndex}\n{AppliedHash}\n{user}{string.Join('\n', Applied)}";
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>Restores the state machines from a snapshot's data (empty: the initial state).</summary>
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
        var first = 2;
        if (lines.Length > 2 && lines[2].StartsWith(UserLinePrefix, StringComparison.Ordinal))
        {
            StateMachine?.Restore(Convert.FromBase64String(lines[2][UserLinePrefix.Length..]));
            first = 3;
        }
        for (var i = first; i < lines.Length; i++)
        {
            if (lines[i].Length > 0) Applied.Add(lines[i]);
        }
    }

    // Marks the snapshot line that holds the application's state machine (base64), when there is one.
    private const string UserLinePrefix = "\u0001sm:";

    /// <summary>One line: role, term, indexes, leader and configuration, or what it persisted while down.</summary>
    public override string ToString() => Raft is null
        ? $"{Name}: down (persisted term={Storage.HardState.Term} last={Storage.LastIndex})"
        : $"{Name}: {Raft.Role} term={Raft.Term} commit={Raft.CommitIndex} applied={AppliedIndex} last={Raft.LastIndex} lead={Raft.Lead} {Raft.Membership}";
}
