using RaftKv.Raft;
using RaftKv.Server;

namespace RaftKv.Http.Observe;

/// <summary>
/// Watches one member's Raft host from the outside (its events, leader changes and applied entries) and keeps
/// bounded summaries for the dashboard and the metrics: a timeline, the log tail, write rate and latencies.
/// The host raises events on its loop thread; every handler here is O(1) and never blocks on I/O.
/// </summary>
public sealed class NodeObserver
{
    /// <summary>Timeline events kept per member.</summary>
    public const int TimelineCapacity = 64;

    /// <summary>Applied entries kept for the log tail.</summary>
    public const int LogTailCapacity = 24;

    private readonly NodeContext _node;
    private readonly TimeProvider _time;
    private readonly BoundedRing<TimelineEvent> _timeline = new(TimelineCapacity);
    private readonly BoundedRing<Entry> _tail = new(LogTailCapacity);
    private readonly RateCounter _writes;
    private readonly LatencyWindow _writeLatency;
    private long _seq;
    private long _committed;
    private long _leaderChanges;
    private long _failedWrites;
    private ulong _lastLeader;

    /// <summary>Subscribes to the host's events (call before the host starts to see its first role change).</summary>
    public NodeObserver(NodeContext node, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        _time = time ?? TimeProvider.System;
        _writes = new RateCounter(_time);
        _writeLatency = new LatencyWindow(_time);
        node.Host.EventRaised += OnEvent;
        node.Host.LeaderChanged += OnLeaderChanged;
        node.Host.Applied += OnApplied;
    }

    /// <summary>Raised (on the Raft loop thread) after a timeline event was recorded; handlers must return at once.</summary>
    public event Action? TimelineChanged;

    /// <summary>Non-empty entries applied since start (etcd's proposals_committed_total, counted on every member).</summary>
    public long ProposalsCommitted => Interlocked.Read(ref _committed);

    /// <summary>Times a new leader became known.</summary>
    public long LeaderChanges => Interlocked.Read(ref _leaderChanges);

    /// <summary>Client writes through this member that failed (timeouts, no leader, refused).</summary>
    public long FailedWrites => Interlocked.Read(ref _failedWrites);

    /// <summary>The member's timeline, oldest first.</summary>
    public TimelineEvent[] Timeline() => _timeline.Snapshot();

    /// <summary>The latest applied entries, oldest first.</summary>
    public LogTailEntry[] LogTail(int max = LogTailCapacity) => _tail.Snapshot(max).Select(e =>
    {
        var (type, payload) = CommandText.Describe(e.Data.Span);
        return new LogTailEntry(e.Index, e.Term, type, payload);
    }).ToArray();

    /// <summary>Writes applied per second, averaged over the last three seconds.</summary>
    public double WritesPerSecond => _writes.PerSecond();

    /// <summary>Writes applied in each of the last 60 seconds, oldest first.</summary>
    public long[] WritesHistory() => _writes.History();

    /// <summary>Latency of client writes served by this member (proposal to applied result) over the last 10 s.</summary>
    public LatencySummary? WriteLatency() => _writeLatency.Summary(TimeSpan.FromSeconds(10));

    /// <summary>Records a client write's outcome as seen by the API that served it.</summary>
    public void RecordWrite(TimeSpan latency, bool succeeded)
    {
        if (succeeded) _writeLatency.Add(latency);
        else Interlocked.Increment(ref _failedWrites);
    }

    private void OnEvent(RaftEvent e)
    {
        // Votes received/rejected and ignored requests are detail; the timeline keeps who changed role and why.
        if (e.Kind is RaftEventKind.VoteReceived or RaftEventKind.VoteRejected or RaftEventKind.VoteIgnored) return;
        var seq = Interlocked.Increment(ref _seq);
        _timeline.Add(new TimelineEvent(seq, _time.GetUtcNow().ToUnixTimeMilliseconds(), _node.Settings.Name,
            e.Kind.ToString().ToLowerInvariant(), e.Term, e.Text));
        TimelineChanged?.Invoke();
    }

    private void OnLeaderChanged(SoftState soft)
    {
        if (soft.Leader == RaftNode.None || soft.Leader == _lastLeader) return;
        _lastLeader = soft.Leader;
        Interlocked.Increment(ref _leaderChanges);
    }

    private void OnApplied(Entry entry)
    {
        _tail.Add(entry);
        if (entry.Data.IsEmpty) return;
        Interlocked.Increment(ref _committed);
        _writes.Add();
    }
}
