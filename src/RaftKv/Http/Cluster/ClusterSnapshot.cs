using RaftKv.Http.Observe;

namespace RaftKv.Http.Cluster;

/// <summary>The whole cluster as one member sees it (<c>GET /v1/cluster</c>, and each event of <c>/v1/events</c>).</summary>
/// <param name="ServedBy">The member that gathered it.</param>
/// <param name="Time">Unix time (ms).</param>
/// <param name="FaultInjection">Whether the serving member accepts fault injection (the dashboard shows its buttons).</param>
/// <param name="Leader">Name of the leader in the highest term seen, or "".</param>
/// <param name="Term">Highest term seen.</param>
/// <param name="Members">Every member of the configuration (the replicated member table), voters and learners.</param>
/// <param name="Timeline">Elections, role changes and configuration changes of all members, merged, oldest first.</param>
/// <param name="LogTail">The latest applied entries (of the member furthest ahead).</param>
/// <param name="WritesPerSecond">Entries applied per second (of the leader, or the member furthest ahead).</param>
/// <param name="WritesHistory">Entries applied in each of the last 60 s.</param>
/// <param name="WriteLatency">Client write latency of the member serving most writes.</param>
public sealed record ClusterSnapshot(
    string ServedBy, long Time, bool FaultInjection, string Leader, ulong Term, IReadOnlyList<ClusterMember> Members,
    IReadOnlyList<TimelineEvent> Timeline, IReadOnlyList<LogTailEntry> LogTail, double WritesPerSecond, IReadOnlyList<long> WritesHistory,
    LatencySummary? WriteLatency);

/// <summary>One member in a <see cref="ClusterSnapshot"/>.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Id">Its id (hex).</param>
/// <param name="PeerUrl">Its peer URL.</param>
/// <param name="Reachable">Whether it answered this round.</param>
/// <param name="Error">Why not, when it did not.</param>
/// <param name="LastSeen">Unix time (ms) of its last answer, or null if never.</param>
/// <param name="View">Its latest view (stale when unreachable), or null if never seen.</param>
/// <param name="Config">Its place in the configuration: "voter" or "learner".</param>
public sealed record ClusterMember(string Name, string Id, string PeerUrl, bool Reachable, string? Error, long? LastSeen, MemberView? View, string Config);
