using RaftKv.Http.Observe;
using RaftKv.Server;

namespace RaftKv.Http.Cluster;

/// <summary>
/// What one member tells the others about itself over the peer port (<c>GET /raftkv.peer.dashboard.v1/view</c>),
/// and what the dashboard shows per member: its Raft state, where to reach it, and its recent history.
/// </summary>
public sealed record MemberView
{
    public required string Name { get; init; }
    public required string Id { get; init; }
    /// <summary>The member's Raft state (null while starting).</summary>
    public StatusReply? Status { get; init; }
    public required IReadOnlyList<string> HttpUrls { get; init; }
    public required IReadOnlyList<string> ClientUrls { get; init; }
    public required string PeerUrl { get; init; }
    /// <summary>Process id (for resuming a paused member from another member on the same host).</summary>
    public required int Pid { get; init; }
    /// <summary>Whether this member accepts fault injection.</summary>
    public required bool FaultInjection { get; init; }
    /// <summary>Set while the member is cut off from its peers by fault injection.</summary>
    public required bool Partitioned { get; init; }
    /// <summary>How to start this member again (its command line), only when fault injection is on.</summary>
    public LaunchCommand? Launch { get; init; }
    public required long Revision { get; init; }
    public required double WritesPerSecond { get; init; }
    public required IReadOnlyList<long> WritesHistory { get; init; }
    public LatencySummary? WriteLatency { get; init; }
    public required IReadOnlyList<TimelineEvent> Timeline { get; init; }
    public required IReadOnlyList<LogTailEntry> LogTail { get; init; }
    /// <summary>Last round-trip time (ms) of a ping to each peer, by name.</summary>
    public required IReadOnlyDictionary<string, double> PeerRttMs { get; init; }
    /// <summary>Watch streams served by this member (null from a member too old to tell).</summary>
    public WatchSummary? Watch { get; init; }
    /// <summary>Leases in this member's store, bounded; remaining TTLs only from the leader.</summary>
    public LeaseSummary? Leases { get; init; }
    /// <summary>Lock, Election and keep-alive calls in progress on this member.</summary>
    public ConcurrencySummary? Concurrency { get; init; }
    /// <summary>Unix time (ms) of this view.</summary>
    public required long Time { get; init; }
}

/// <summary>A member's command line, so another member on the same host can start it again after a stop.</summary>
/// <param name="Arguments">Arguments after the program (starting with "serve").</param>
/// <param name="WorkingDirectory">Where it ran.</param>
/// <param name="Environment">Its RAFTKV_* variables (settings given by environment instead of flags).</param>
public sealed record LaunchCommand(IReadOnlyList<string> Arguments, string WorkingDirectory, IReadOnlyDictionary<string, string> Environment);
