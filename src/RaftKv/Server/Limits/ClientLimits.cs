namespace RaftKv.Server.Limits;

/// <summary>
/// What one client, or all of them together, may ask of a member, beyond the request size and stream limits etcd
/// has flags for (--max-request-bytes, --max-concurrent-streams, watch streams and watchers). etcd has no flags for
/// these; the names are raftkv's own, and each default is far above what honest clients do (a benchmark with 100
/// clients over 10 connections makes about 5,000 requests a second on one connection) and far below what would
/// starve the member.
/// </summary>
public sealed record ClientLimits
{
    /// <summary>Defaults.</summary>
    public static ClientLimits Default { get; } = new();

    /// <summary>Client and HTTP connections one member holds open at once (--max-connections); one more is closed at once.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>New client and HTTP connections one member accepts per second, with as many in a burst (--max-new-connections-per-second).</summary>
    public int NewConnectionsPerSecond { get; init; } = 1_000;

    /// <summary>
    /// Requests (gRPC calls, gateway and HTTP API requests; a stream counts once) one connection may make per second, with
    /// as many in a burst (--max-requests-per-second-per-connection); beyond, etcd's "too many requests" (RESOURCE_EXHAUSTED).
    /// </summary>
    public int RequestsPerSecondPerConnection { get; init; } = 50_000;

    /// <summary>
    /// Leases the cluster may hold (--max-leases); a grant beyond is refused by the member that receives it, before it
    /// is proposed. The count is that member's applied one, so grants in flight at the same time may pass it by a few:
    /// the bound is on what clients can make the cluster keep, not an exact quota (the apply stays a function of the log alone).
    /// </summary>
    public long MaxLeases { get; init; } = 1_000_000;

    /// <summary>The error a refused request gets: etcd's ErrTooManyRequests.</summary>
    public const string TooManyRequests = "etcdserver: too many requests";

    /// <summary>The error a refused lease grant gets (raftkv's own, in etcd's form).</summary>
    public const string TooManyLeases = "etcdserver: too many leases";
}
